"""Latency and throughput of ``POST /v1/search`` and ``POST /v1/ask`` (extractive) over HTTP,
with 1 and 8 concurrent clients, printed as ratios against the single-client run.

    .venv/bin/python benchmarks/bench_api.py [--requests 64] [--clients 1 8] [--url URL]

Without ``--url`` it starts ``assistant serve`` in a subprocess on a
free loopback port (generator ``extractive``; index and other settings from ASSISTANT_* / .env),
so server and clients do not share a Python interpreter. Results go to ``benchmarks/out/``.

Every request sends a text the server has not seen before (eval questions, then sentences of the
corpus), so the retriever's query-vector cache never hits: these are cold-query latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
from serving import ROOT, Distinct, report_texts, start_server

OUT = ROOT / "benchmarks" / "out"


def request_body(endpoint: str, question: str) -> dict[str, Any]:
    if endpoint == "search":
        return {"query": question, "k": 5}
    return {"question": question, "generator": "extractive"}


def run(url: str, endpoint: str, clients: int, total: int, texts: Distinct, headers: dict[str, str]) -> dict[str, Any]:
    """``total`` requests spread over ``clients`` threads, each with its own connection."""
    per_client = max(1, total // clients)

    def worker(_: int) -> list[float]:
        times = []
        with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
            for _ in range(per_client):
                body = request_body(endpoint, texts.take())
                t = time.perf_counter()
                client.post(f"/v1/{endpoint}", json=body).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
        return times

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for times in pool.map(worker, range(clients)) for ms in times]
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "endpoint": endpoint,
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1),
        "throughput_rps": round(len(latencies) / wall, 2),
    }


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"{'endpoint':10} {'clients':>7} {'p50 ms':>9} {'p95 ms':>9} {'req/s':>8}   "
          f"{'p50 x':>6} {'p95 x':>6} {'req/s x':>7}   (x = ratio to 1 client)")
    for r in results:
        base = next(b for b in results if b["endpoint"] == r["endpoint"] and b["clients"] == min_clients(results))
        print(f"{r['endpoint']:10} {r['clients']:>7} {r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f} "
              f"{r['throughput_rps']:>8.2f}   "
              f"{r['p50_ms'] / base['p50_ms']:>6.2f} {r['p95_ms'] / base['p95_ms']:>6.2f} "
              f"{r['throughput_rps'] / base['throughput_rps']:>7.2f}")


def min_clients(results: list[dict[str, Any]]) -> int:
    return min(int(r["clients"]) for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=64, help="requests per (endpoint, clients) run")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--url", help="benchmark a running server instead of starting one")
    parser.add_argument("--api-key", help="bearer key, when the server has ASSISTANT_API_KEYS")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    questions, clauses = report_texts()
    texts = Distinct(questions + clauses)
    with (_started() if args.url is None else _given(args.url)) as url:
        for endpoint in ("search", "ask"):  # warm-up: first requests load jieba, caches, the generator
            run(url, endpoint, 2, 8, texts, headers)
        results = [
            run(url, e, c, args.requests, texts, headers) for e in ("search", "ask") for c in sorted(args.clients)
        ]
        health = httpx.get(f"{url}/healthz", timeout=10).json()
    print_table(results)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench_api-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {
        "cpus": os.cpu_count(), "load_average": os.getloadavg(), "distinct_texts": True,
        "python": platform.python_version(), "server": health, "command": sys.argv,
    }
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=2, ensure_ascii=False), "utf-8")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


@contextmanager
def _started() -> Iterator[str]:
    with start_server({"ASSISTANT_GENERATOR": "extractive"}) as server:
        yield server.url


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url.rstrip("/")


if __name__ == "__main__":
    sys.exit(main())
