"""The server under load and faults: latency, throughput, errors, memory and shutdown time,
against a real ``assistant serve`` started in a subprocess (or a running one with ``--url``).

    .venv/bin/python benchmarks/bench_load.py                      # every scenario
    .venv/bin/python benchmarks/bench_load.py --scenarios mixed search
    .venv/bin/python benchmarks/bench_load.py --against benchmarks/out/bench_load-OLD.json

Scenarios (each prints p50, p95, req/s, errors and the server's RSS; ``/healthz`` is probed
every 100 ms throughout, and its p95 is printed beside each scenario):

  baseline    1 client, the mixed requests below one after the other: the reference for ratios
  mixed       32 clients x 50 requests, half ``/v1/search``, half ``/v1/ask`` (extractive)
  search      16 clients x 50 ``/v1/search`` with the eval questions, drawn with repeats
  search-cold the same with texts never sent before (no cache can help)
  queue       16 local asks at the same moment on a fresh server with ``ASSISTANT_QUEUE_SIZE=4``:
              each must be answered (200), or refused (429/503) within 1 s; peak RSS against the
              model file's size shows whether the model loaded once
  flood       48 local asks at once (after one warm-up ask): does /healthz still answer quickly?
  disconnect  a streamed local ask's time to first token on an idle server, then again right after
              a client gave up on a non-streaming ask after 1 s (the abandoned one must stop);
              every question is a new one, so no prompt is served from llama.cpp's cache
  sigterm     SIGTERM while local asks run: seconds until the process exits

Ratios: ``x base`` is the figure over the 1-client baseline; with ``--against`` a second table
gives each figure over the same figure of an earlier run (before/after a change).
The server runs the code of this checkout (``PYTHONPATH`` = the repository) and reads its
index and corpus from ASSISTANT_* settings like ``assistant serve`` does; JSON goes to
``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from serving import ROOT, Distinct, Server, report_texts, start_server

OUT = ROOT / "benchmarks" / "out"
MODELS_DIR = Path.home() / ".cache" / "report-assistant" / "models"
#: file names of the pulled local models (``assistant models pull``), for the memory check
MODEL_FILES = {
    "qwen2.5-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "qwen2.5-1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}
SCENARIOS = ("baseline", "mixed", "search", "search-cold", "queue", "flood", "disconnect", "sigterm")
LOCAL_QUESTION = "制造业单项冠军企业有多少家？"
#: distinct answerable questions for the disconnect scenario: a repeated prompt would be served
#: from llama.cpp's prompt cache and hide the cost of a full prompt evaluation
DISTINCT_QUESTIONS = (
    "截至2025年10月，培育了多少家专精特新“小巨人”企业？",
    "2024年我国数据产业规模有多大？",
    "企业研发投入占全社会研发投入的比重是多少？",
    "国家高新技术企业有多少家？",
    "What share of total R&D spending in China comes from enterprises?",
)


# ---- measuring -----------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


class HealthProbe:
    """GET /healthz every ``interval`` seconds from a separate process (the load's client threads
    would otherwise delay the probe in this one), for the duration of one scenario."""

    def __init__(self, url: str, interval: float = 0.1) -> None:
        self.url = url
        self.interval = interval
        self.latencies: list[float] = []
        self.failures = 0
        context = multiprocessing.get_context("spawn")
        self._parent, child = context.Pipe()
        self._process = context.Process(target=_probe, args=(url, interval, child), daemon=True)

    def __enter__(self) -> HealthProbe:
        self._process.start()
        self._parent.recv()  # the probe runs: a scenario is measured from its start
        return self

    def __exit__(self, *_: object) -> None:
        self._parent.send("stop")
        self.latencies, self.failures = self._parent.recv()
        self._process.join()

    def summary(self) -> dict[str, float]:
        return {"healthz_p50_ms": _pct(self.latencies, 0.5), "healthz_p95_ms": _pct(self.latencies, 0.95),
                "healthz_max_ms": round(max(self.latencies, default=float("nan")), 1),
                "healthz_failures": self.failures}


def _probe(url: str, interval: float, conn: Any) -> None:
    latencies: list[float] = []
    failures = 0
    with httpx.Client(timeout=60) as client:
        conn.send("running")
        while not conn.poll(interval):
            t = time.perf_counter()
            try:
                ok = client.get(f"{url}/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - t) * 1000)
            failures += not ok
    conn.send((latencies, failures))


@dataclass
class Outcome:
    ms: float
    status: int  # 0: no response (connection error, time-out)


@dataclass
class Run:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    wall: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self, accepted: tuple[int, ...] = (200,)) -> dict[str, Any]:
        ok = [o.ms for o in self.outcomes if o.status == 200]
        statuses: dict[str, int] = {}
        for o in self.outcomes:
            statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
        return {
            "scenario": self.name, "requests": len(self.outcomes),
            "errors": sum(o.status not in accepted for o in self.outcomes), "statuses": statuses,
            "p50_ms": _pct(ok, 0.5), "p95_ms": _pct(ok, 0.95),
            "req_s": round(len(self.outcomes) / self.wall, 2) if self.wall else float("nan"), **self.extra,
        }


Request = Callable[[httpx.Client, int], int]


def load(url: str, name: str, clients: int, per_client: int, request: Request, headers: dict[str, str]) -> Run:
    """``clients`` threads, each with its own connection, sending ``per_client`` requests in turn."""
    run = Run(name)
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def worker(c: int) -> None:
        with httpx.Client(base_url=url, timeout=300, headers=headers) as client:
            start.wait()
            for i in range(per_client):
                t = time.perf_counter()
                try:
                    status = request(client, c * per_client + i)
                except httpx.HTTPError:
                    status = 0
                with lock:
                    run.outcomes.append(Outcome((time.perf_counter() - t) * 1000, status))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    run.wall = time.perf_counter() - t0
    return run


# ---- scenarios -----------------------------------------------------------------------------------


def mixed_request(questions: list[str]) -> Request:
    """Even: a search; odd: an extractive ask. Questions drawn with repeats, as real users ask."""

    def send(client: httpx.Client, i: int) -> int:
        q = random.Random(i).choice(questions)
        if i % 2 == 0:
            return client.post("/v1/search", json={"query": q, "k": 5}).status_code
        return client.post("/v1/ask", json={"question": q, "generator": "extractive"}).status_code

    return send


def search_request(texts: Distinct | list[str]) -> Request:
    """Distinct texts (each once), or texts drawn with repeats from a list."""

    def send(client: httpx.Client, i: int) -> int:
        query = texts.take() if isinstance(texts, Distinct) else random.Random(i).choice(texts)
        return client.post("/v1/search", json={"query": query, "k": 5}).status_code

    return send


def scenario_load(server: Server, name: str, clients: int, per_client: int, request: Request,
                  headers: dict[str, str]) -> dict[str, Any]:
    with HealthProbe(server.url) as probe:
        run = load(server.url, name, clients, per_client, request, headers)
    return {**run.summary(), "clients": clients, **probe.summary(), **server.rss_mb()}


def scenario_queue(args: argparse.Namespace, headers: dict[str, str]) -> dict[str, Any]:
    """16 local asks at once against a queue of 4 on a fresh server whose model may still be loading."""
    env = _local_env(args) | {"ASSISTANT_QUEUE_SIZE": str(args.queue_size)}
    def send(client: httpx.Client, i: int) -> int:
        return client.post("/v1/ask", json={"question": LOCAL_QUESTION, "generator": "local"}).status_code

    with start_server(env) as server:
        idle = server.rss_mb()
        with HealthProbe(server.url) as probe:
            run = load(server.url, "queue", args.local_clients, 1, send, headers)
        refused = [o.ms for o in run.outcomes if o.status in (429, 503)]
        model = _model_mb(args.local_model)
        rss = server.rss_mb()
        run.extra = {
            "clients": args.local_clients, "queue_size": args.queue_size,
            "answered": sum(o.status == 200 for o in run.outcomes), "refused": len(refused),
            "refused_max_ms": round(max(refused, default=0.0), 1),
            "idle_rss_mb": idle.get("rss_mb"), **rss, "model_file_mb": model,
            **probe.summary(),
        }
        # answered or refused within 1 s: anything else (a slow 429, a 500, a dropped connection) is an error
        summary = run.summary(accepted=(200, 429, 503))
        summary["errors"] += sum(ms > 1000 for ms in refused)
        return summary


def _first_token_ms(client: httpx.Client, question: str) -> float:
    """Milliseconds until the first ``event: token`` of a streamed local ask (NaN if none came)."""
    t = time.perf_counter()
    body = {"question": question, "generator": "local", "stream": True}
    with client.stream("POST", "/v1/ask", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("event: token"):
                return round((time.perf_counter() - t) * 1000, 1)
    return float("nan")


def scenario_disconnect(args: argparse.Namespace, headers: dict[str, str]) -> dict[str, Any]:
    q = DISTINCT_QUESTIONS
    with start_server(_local_env(args)) as server, httpx.Client(base_url=server.url, timeout=300,
                                                                 headers=headers) as client:
        _first_token_ms(client, LOCAL_QUESTION)  # warm-up: the model's first run is slower
        normal = statistics.mean([_first_token_ms(client, q[0]), _first_token_ms(client, q[1])])
        try:  # a client that gives up after 1 s; the server should stop generating for it
            client.post("/v1/ask", json={"question": q[2], "generator": "local"}, timeout=1.0)
        except httpx.TimeoutException:
            pass
        after = _first_token_ms(client, q[3])
    return {"scenario": "disconnect", "first_token_ms": round(normal, 1), "first_token_after_disconnect_ms": after,
            "after_over_normal": round(after / normal, 2)}


def scenario_flood(args: argparse.Namespace, headers: dict[str, str]) -> dict[str, Any]:
    """Many more local asks than threads: /healthz and search must not wait behind them."""
    env = _local_env(args) | {"ASSISTANT_QUEUE_SIZE": str(args.queue_size)}
    with start_server(env) as server:
        httpx.post(f"{server.url}/v1/ask", json={"question": LOCAL_QUESTION, "generator": "local"},
                   headers=headers, timeout=300)  # the model is loaded (once) before the flood

        def send(client: httpx.Client, i: int) -> int:
            body = {"question": DISTINCT_QUESTIONS[i % len(DISTINCT_QUESTIONS)], "generator": "local"}
            return client.post("/v1/ask", json=body, timeout=args.flood_timeout).status_code

        with HealthProbe(server.url) as probe:
            run = load(server.url, "flood", args.flood_clients, 1, send, headers)
        run.extra = {"clients": args.flood_clients, "answered": sum(o.status == 200 for o in run.outcomes),
                     **probe.summary(), **server.rss_mb()}
        return run.summary(accepted=(200, 429, 503))


def scenario_sigterm(args: argparse.Namespace, headers: dict[str, str]) -> dict[str, Any]:
    with start_server(_local_env(args)) as server:
        assert server.proc is not None

        def ask(_: int) -> int:
            try:
                body = {"question": LOCAL_QUESTION, "generator": "local"}
                return httpx.post(f"{server.url}/v1/ask", json=body, headers=headers, timeout=120).status_code
            except httpx.HTTPError:
                return 0

        pool = ThreadPoolExecutor(4)
        futures = [pool.submit(ask, i) for i in range(4)]
        time.sleep(2.0)  # generation under way
        t = time.perf_counter()
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=args.sigterm_limit)
            seconds = round(time.perf_counter() - t, 2)
        except subprocess.TimeoutExpired:
            seconds = float("inf")  # the context manager kills it
        statuses = [f.result() for f in futures]
        pool.shutdown()
    return {"scenario": "sigterm", "exit_s": seconds, "limit_s": args.sigterm_limit, "statuses": statuses}


def _local_env(args: argparse.Namespace) -> dict[str, str]:
    return {"ASSISTANT_GENERATOR": "local", "ASSISTANT_LOCAL_MODEL": args.local_model}


def _model_mb(model: str) -> float | None:
    path = MODELS_DIR / MODEL_FILES[model] if model in MODEL_FILES else Path(model)
    return round(path.stat().st_size / 2**20, 1) if path.is_file() else None


# ---- report --------------------------------------------------------------------------------------

COLUMNS = ("requests", "errors", "p50_ms", "p95_ms", "req_s", "healthz_p95_ms", "rss_mb", "peak_rss_mb")


def print_table(results: list[dict[str, Any]]) -> None:
    base = next((r for r in results if r["scenario"] == "baseline"), None)
    print(f"{'scenario':11}" + "".join(f"{c:>15}" for c in COLUMNS) + "   p50 x base  p95 x base  req/s x base")
    for r in results:
        if "requests" not in r:
            continue
        row = f"{r['scenario']:11}" + "".join(f"{_fmt(r.get(c)):>15}" for c in COLUMNS)
        if base is not None:
            row += "   " + "  ".join(f"{_ratio(r.get(c), base.get(c)):>10}" for c in ("p50_ms", "p95_ms", "req_s"))
        print(row)
    for r in results:
        if r["scenario"] == "flood":
            print(f"flood: {r['answered']} of {r['requests']} answered, statuses {r['statuses']}, "
                  f"healthz p95 {r['healthz_p95_ms']} ms (max {r['healthz_max_ms']})")
        elif r["scenario"] == "queue":
            print(f"queue: {r['answered']} answered, {r['refused']} refused "
                  f"(slowest refusal {r['refused_max_ms']} ms), "
                  f"healthz p95 {r['healthz_p95_ms']} ms (max {r['healthz_max_ms']}), RSS idle {r['idle_rss_mb']} MB, "
                  f"peak {r['peak_rss_mb']} MB, model file {r['model_file_mb']} MB")
        elif r["scenario"] == "disconnect":
            print(f"disconnect: first token {r['first_token_ms']} ms normally, "
                  f"{r['first_token_after_disconnect_ms']} ms after an abandoned ask ({r['after_over_normal']}x)")
        elif r["scenario"] == "sigterm":
            print(f"sigterm: exited after {r['exit_s']} s (limit {r['limit_s']} s); in-flight statuses {r['statuses']}")


def print_against(results: list[dict[str, Any]], path: Path) -> None:
    """Each figure over the same figure of an earlier run of this benchmark."""
    old = {r["scenario"]: r for r in json.loads(path.read_text("utf-8"))["results"]}
    keys = ("p50_ms", "p95_ms", "req_s", "healthz_p95_ms", "peak_rss_mb", "refused_max_ms",
            "first_token_after_disconnect_ms", "exit_s", "errors")
    print(f"\nagainst {path.name} (new / old):")
    for r in results:
        before = old.get(r["scenario"])
        if before is None:
            continue
        pairs = [f"{k} {_fmt(before.get(k))} -> {_fmt(r.get(k))} ({_ratio(r.get(k), before.get(k))}x)"
                 for k in keys if k in r and k in before]
        print(f"  {r['scenario']:11} " + "; ".join(pairs))


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)


def _ratio(new: Any, old: Any) -> str:
    try:
        return f"{float(new) / float(old):.2f}"
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--url", help="load a running server for baseline/mixed/search instead of starting one")
    parser.add_argument("--api-key", help="bearer key, when the server has ASSISTANT_API_KEYS")
    parser.add_argument("--clients", type=int, default=32, help="clients of the mixed scenario")
    parser.add_argument("--per-client", type=int, default=50, help="requests per client (mixed, search)")
    parser.add_argument("--search-clients", type=int, default=16)
    parser.add_argument("--local-clients", type=int, default=16, help="simultaneous local asks (queue)")
    parser.add_argument("--queue-size", type=int, default=4, help="ASSISTANT_QUEUE_SIZE of the queue scenario")
    parser.add_argument("--flood-clients", type=int, default=48, help="simultaneous local asks (flood)")
    parser.add_argument("--flood-timeout", type=float, default=60.0, help="seconds a flood client waits")
    parser.add_argument("--local-model", default="qwen2.5-0.5b", help="ASSISTANT_LOCAL_MODEL for local scenarios")
    parser.add_argument("--sigterm-limit", type=float, default=90.0, help="seconds to wait for the exit before SIGKILL")
    parser.add_argument("--against", type=Path, help="an earlier JSON result of this benchmark (before/after ratios)")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    questions, clauses = report_texts()
    results: list[dict[str, Any]] = []
    wanted = set(args.scenarios)

    if wanted & {"baseline", "mixed", "search", "search-cold"}:
        extractive = {"ASSISTANT_GENERATOR": "extractive"}
        with start_server(extractive) if args.url is None else _given(args.url) as server:
            load(server.url, "warm-up", 2, 10, mixed_request(questions), headers)
            n = args.per_client
            if "baseline" in wanted:
                results.append(scenario_load(server, "baseline", 1, n, mixed_request(questions), headers))
            if "mixed" in wanted:
                results.append(scenario_load(server, "mixed", args.clients, n, mixed_request(questions), headers))
            if "search" in wanted:
                results.append(scenario_load(server, "search", args.search_clients, n, search_request(questions),
                                             headers))
            if "search-cold" in wanted:
                cold = search_request(Distinct(clauses))
                results.append(scenario_load(server, "search-cold", args.search_clients, n, cold, headers))
    local_scenarios = (("queue", scenario_queue), ("flood", scenario_flood), ("disconnect", scenario_disconnect),
                       ("sigterm", scenario_sigterm))
    for name, scenario in local_scenarios:
        if name in wanted:
            results.append(scenario(args, headers))

    print_table(results)
    if args.against:
        print_against(results, args.against)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench_load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "command": sys.argv, "git": _git_head()}
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=2, ensure_ascii=False), "utf-8")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


def _git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return head.stdout.strip()
    except OSError:
        return "?"


@contextmanager
def _given(url: str) -> Iterator[Server]:
    yield Server(url.rstrip("/"), None)


if __name__ == "__main__":
    sys.exit(main())
