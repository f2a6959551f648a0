"""Issue 21's three speed ratios, each against a floor measured in the same run, in one command.

    .venv/bin/python benchmarks/bench_speed.py                 # all three (about 6-8 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_speed.py --only index    # one of answer, index, search

- **answer** — the default local model (Qwen2.5-Coder-1.5B Q4_K_M). Floor: llama.cpp evaluating
  300 tokens of the same file, warm, nothing else in the process (median of 3). Then the whole
  assistant with the local generator answers ``--answers`` questions (a fixed spread of answerable
  ones from evals/questions.jsonl, after one warm-up answer): the first token's and the checked
  answer's median wall time, each as a ratio of the floor. Targets: ≤ 0.5 and ≤ 0.75.
- **index** — a set of real reports, 2 PDF and 2 DOCX from evals/reports/corpus (34 PDF pages,
  about 115 passages). Floor: one batched encoder pass over the passage texts (the embedding
  inputs ``assistant index`` makes). Then ``assistant index``'s work in-process on a fresh index
  folder (read, cut, embed, write), the model already loaded as for the floor, for each
  ``--modes`` of the ``sentence_vectors`` setting: ``alone`` is the way before (passages, then
  their sentences again). Its reading time is printed apart. Target: ≤ 1.3.
- **search** — ``POST /v1/search`` on a real ``assistant serve`` (extractive), every query a text
  the server has not seen. Floor: one client's req/s. Then 16 clients: their req/s as a ratio
  (target ≥ 2.5 and ≥ 100 req/s); one client then 16, ``--rounds`` times in turn, the ratio the
  median of the rounds' (each against its own floor: the other work on a shared machine comes and
  goes); the extractive ``/v1/ask`` p50 with one client (target ≤ 50 ms),
  and ``/healthz`` p50 while the 16 clients run.

Ratios are printed side by side with their floors; results go to ``benchmarks/out/speed.json``
(and a timestamped copy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
from serving import Distinct, report_texts, start_server  # noqa: E402

from assistant.core.settings import Settings  # noqa: E402
from assistant.embed import load_embedder  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
REPORTS = ROOT / "evals" / "reports" / "corpus"
#: 2 PDF (21 + 13 pages) and 2 DOCX statistical bulletins and notices
INDEX_SET = (
    "2023_qiandongnan-prefecture_statistical-bulletin.pdf",
    "2023_zhoukou-city_statistical-bulletin.pdf",
    "2016_qiandongnan-prefecture_statistical-bulletin.docx",
    "2014_state-council_local-government-debt-opinion.docx",
)
PREFILL_TOKENS = 300


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ---- answer ---------------------------------------------------------------------------------------


def bare_prefill_s(settings: Settings, repeat: int = 3) -> float:
    """Median seconds llama.cpp takes to evaluate 300 tokens of the local model file, warm."""
    import llama_cpp

    from assistant.answer.generate.gguf_models import resolve_local_model

    path = resolve_local_model(settings.local_model, settings.models_dir)
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=settings.llm_context, n_threads=settings.llm_threads,
                          verbose=False)
    text = (ROOT / "corpus").glob("*.txt").__next__().read_text(encoding="utf-8")
    tokens = llm.tokenize(text.encode("utf-8"))[:PREFILL_TOKENS]
    assert len(tokens) == PREFILL_TOKENS

    def prefill() -> None:
        llm.reset()  # type: ignore[no-untyped-call]
        llm.eval(tokens)

    prefill()  # warm: pages mapped, buffers allocated
    seconds = _median_s(prefill, repeat)
    llm.close()  # the model's memory goes before the assistant loads its own copy
    return seconds


def answer_times(settings: Settings, n: int) -> dict[str, Any]:
    """First token and total wall seconds (medians) of ``n`` local answers through the one ``ask()``."""
    from assistant.assemble import build_assistant

    rows = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text("utf-8").splitlines() if line]
    answerable = [r for r in rows if r.get("answerable")]
    picked = [answerable[int(i * len(answerable) / n)] for i in range(n)]
    assistant = build_assistant(settings.with_changes(generator="local"), load_generator=True)
    assistant.ask(answerable[1]["question"])  # warm-up: the cached system prefix, grammar compiled
    first, total, answers = [], [], []
    for row in picked:
        t = time.perf_counter()
        answer = assistant.ask(row["question"])
        wall = time.perf_counter() - t
        total.append(wall)
        first.append(answer.timings.get("first_token_ms", wall * 1000) / 1000)
        answers.append({"id": row["id"], "first_token_s": round(first[-1], 3), "total_s": round(wall, 3),
                        "refused": answer.refused, "answer": answer.answer[:80]})
    return {"first_token_s": statistics.median(first), "total_s": statistics.median(total), "answers": answers}


def bench_answer(settings: Settings, n: int) -> dict[str, Any]:
    floor = bare_prefill_s(settings)
    run = answer_times(settings, n)
    return {
        "floor": f"bare {PREFILL_TOKENS}-token prefill of {settings.local_model}", "floor_s": round(floor, 3),
        "rows": [
            {"what": f"first token, p50 of {n} answers", "s": round(run["first_token_s"], 3),
             "ratio": round(run["first_token_s"] / floor, 3), "target": "<= 0.5"},
            {"what": f"checked answer, p50 of {n} answers", "s": round(run["total_s"], 3),
             "ratio": round(run["total_s"] / floor, 3), "target": "<= 0.75"},
        ],
        "answers": run["answers"],
    }


# ---- index ----------------------------------------------------------------------------------------


def bench_index(settings: Settings, modes: list[str]) -> dict[str, Any]:
    from assistant.ingest import ReadOptions, load_corpus
    from assistant.storage.build import build_index
    from assistant.storage.index import corpus_fingerprint, passage_text

    work = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        for name in INDEX_SET:
            shutil.copy2(REPORTS / name, corpus / name)
        base = settings.with_changes(corpus_dir=corpus)
        embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
        passages = load_corpus(corpus, settings.chunk_max_chars, ReadOptions.from_settings(base, progress=False))
        texts = [passage_text(p) for p in passages]
        batch = settings.embedding_batch_size
        embedder.embed_passages(texts[:batch])  # warm
        t = time.perf_counter()
        for start in range(0, len(texts), batch):
            embedder.embed_passages(texts[start : start + batch])
        floor = time.perf_counter() - t
        rows = []
        for mode in modes:
            target = base.with_changes(index_dir=work / f"index-{mode}", sentence_vectors=mode)
            t = time.perf_counter()
            fingerprint = corpus_fingerprint(corpus)
            read = load_corpus(corpus, settings.chunk_max_chars, ReadOptions.from_settings(target, progress=False))
            reading = time.perf_counter() - t
            build_index(target, embedder, read, rebuild=True, progress=False, fingerprint=fingerprint)
            seconds = time.perf_counter() - t
            rows.append({"what": f"index, sentence_vectors={mode}", "s": round(seconds, 2),
                         "reading_s": round(reading, 2), "ratio": round(seconds / floor, 3), "target": "<= 1.3"})
        return {"floor": f"one batched encoder pass over {len(texts)} passage texts "
                         f"({len(INDEX_SET)} documents)", "floor_s": round(floor, 2), "rows": rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- search ---------------------------------------------------------------------------------------


def _load(url: str, endpoint: str, clients: int, total: int, texts: Distinct) -> dict[str, float]:
    per_client = max(1, total // clients)
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for _ in range(per_client):
                body = {"query": texts.take(), "k": 5} if endpoint == "search" else \
                    {"question": texts.take(), "generator": "extractive"}
                t = time.perf_counter()
                client.post(f"/v1/{endpoint}", json=body).raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    return {"rps": len(latencies) / wall, "p50_ms": statistics.median(latencies)}


def bench_search(requests: int, clients: int, rounds: int) -> dict[str, Any]:
    """One client, then ``clients`` at once, ``rounds`` times in turn: each round's ratio has its own
    floor, so a load that comes and goes on the machine (other work) shifts both sides of it."""
    questions, clauses = report_texts()
    texts = Distinct(questions + clauses)
    with start_server({"ASSISTANT_GENERATOR": "extractive"}) as server:
        url = server.url
        _load(url, "search", 2, 16, texts)  # warm-up: jieba, caches
        _load(url, "ask", 2, 8, texts)
        ones, manys, ratios = [], [], []
        health: list[float] = []
        for _ in range(rounds):
            one = _load(url, "search", 1, requests, texts)
            stop = threading.Event()

            def probe(stop: threading.Event = stop) -> None:
                with httpx.Client(base_url=url, timeout=30) as client:
                    while not stop.is_set():
                        t = time.perf_counter()
                        client.get("/healthz").raise_for_status()
                        health.append((time.perf_counter() - t) * 1000)
                        time.sleep(0.05)

            prober = threading.Thread(target=probe)
            prober.start()
            many = _load(url, "search", clients, requests * 2, texts)
            stop.set()
            prober.join()
            ones.append(one)
            manys.append(many)
            ratios.append(many["rps"] / one["rps"])
        ask = _load(url, "ask", 1, max(16, requests // 4), texts)
    one_rps = statistics.median(o["rps"] for o in ones)
    many_rps = statistics.median(m["rps"] for m in manys)
    return {
        "floor": f"/v1/search, 1 client, req/s (median of {rounds} rounds)", "floor_rps": round(one_rps, 1),
        "rows": [
            {"what": f"/v1/search, {clients} clients, req/s (ratio: median of rounds)", "rps": round(many_rps, 1),
             "ratio": round(statistics.median(ratios), 3), "target": ">= 2.5 and >= 100 req/s"},
            {"what": "  each round: 1 client / 16 clients req/s",
             "rps": "  ".join(f"{o['rps']:.0f}/{m['rps']:.0f}" for o, m in zip(ones, manys, strict=True))},
            {"what": "/v1/search p50 ms, 1 client / 16 clients",
             "ms": f"{statistics.median(o['p50_ms'] for o in ones):.1f} / "
                   f"{statistics.median(m['p50_ms'] for m in manys):.1f}"},
            {"what": "/healthz p50 ms under the 16 clients",
             "ms": round(statistics.median(health), 1) if health else None},
            {"what": "extractive /v1/ask p50 ms, 1 client", "ms": round(ask["p50_ms"], 1), "target": "<= 50"},
        ],
    }


# ---- report ---------------------------------------------------------------------------------------


def print_table(results: dict[str, dict[str, Any]]) -> None:
    for part, res in results.items():
        floor = res.get("floor_s", res.get("floor_rps"))
        unit = "s" if "floor_s" in res else "req/s"
        print(f"\n== {part}: floor = {res['floor']}: {floor} {unit}")
        for row in res["rows"]:
            value = row.get("s", row.get("rps", row.get("ms")))
            ratio = f"{row['ratio']:.2f} x floor" if "ratio" in row else ""
            extra = f"  (reading {row['reading_s']} s)" if "reading_s" in row else ""
            target = f"  target {row['target']}" if "target" in row else ""
            print(f"   {row['what']:55} {value!s:>10}  {ratio:>13}{extra}{target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["answer", "index", "search"], action="append",
                        help="run only these parts (repeatable); default all three")
    parser.add_argument("--answers", type=int, default=5, help="local answers timed (default 5)")
    parser.add_argument("--requests", type=int, default=128, help="search requests of the one-client run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="search: one client then many, this many times in turn")
    parser.add_argument("--modes", nargs="+", default=["passage-from-sentences", "alone"],
                        choices=["passage-from-sentences", "in-passage", "alone"],
                        help="index: the sentence_vectors modes built, each side by side with the floor")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for the answer and index parts (any Settings field)")
    args = parser.parse_args(argv)
    overrides = dict(pair.split("=", 1) for pair in args.set)
    settings = Settings(**overrides)
    parts = args.only or ["answer", "index", "search"]
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}
    if "answer" in parts:
        results["answer"] = bench_answer(settings, args.answers)
    if "index" in parts:
        results["index"] = bench_index(settings, args.modes)
    if "search" in parts:
        results["search"] = bench_search(args.requests, args.clients, args.rounds)
    print_table(results)
    print(f"\nload average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {os.cpu_count()} CPUs")
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"cpus": os.cpu_count(), "load_average_before_after": [load_before, os.getloadavg()[0]],
            "python": platform.python_version(), "command": sys.argv, "settings": overrides,
            "when": datetime.now().isoformat(timespec="seconds")}
    payload = json.dumps({"meta": meta, "results": results}, indent=2, ensure_ascii=False)
    (OUT / "speed.json").write_text(payload, "utf-8")
    (OUT / f"speed-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(payload, "utf-8")
    print(f"results: {(OUT / 'speed.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
