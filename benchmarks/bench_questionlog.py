"""What the question log costs: write throughput, and latency added to each ask.

    .venv/bin/python benchmarks/bench_questionlog.py [--asks 60] [--rows 5000]

1. **Added latency per ask** (in process, real pipeline, extractive generator): each question is
   answered twice in alternating order, once plain (``Assistant.ask``) and once logged
   (``QuestionLog.ask`` over ``Assistant.stream``); the logged/plain ratio of p50 and p95 is the
   added latency. Beside it, the cost on the request path alone (``record()``: build the row and
   queue it) and what writing the row in the request would cost (``LogStore.insert`` of one row).
2. **Write throughput**: ``--rows`` rows shaped like those real answers, written by the background
   writer from 1 and from 16 threads, against the baseline of one transaction per row on the
   calling thread (what logging inside the request would do).

Index and other settings come from ASSISTANT_* / .env (the index is built if missing); the log is
written to a temporary file. Results go to ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))

from assistant.assemble import build_assistant  # noqa: E402
from assistant.core.settings import Settings  # noqa: E402
from assistant.core.types import Answer  # noqa: E402
from assistant.questionlog import LogStore, QuestionLog  # noqa: E402
from assistant.questionlog.records import entry_for, new_answer_id  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 3), "p95": round(_pct(values, 95), 3), "n": len(values)}


def added_latency(settings: Settings, asks: int, folder: Path) -> tuple[dict[str, Any], list[Answer]]:
    """Plain and logged asks of the same questions, alternating which goes first."""
    assistant = build_assistant(settings)
    rows = [json.loads(x) for x in (ROOT / "evals" / "questions.jsonl").read_text("utf-8").splitlines() if x]
    questions = [rows[i % len(rows)]["question"] for i in range(asks)]
    plain, logged, answers = [], [], []
    with QuestionLog(folder / "latency.db") as qlog:
        for q in questions[:5]:  # warm-up: jieba, caches, the writer's first open
            qlog.ask(assistant.stream(q), channel="api")
        for i, q in enumerate(questions):
            for kind in (("plain", "logged") if i % 2 else ("logged", "plain")):
                t = time.perf_counter()
                if kind == "plain":
                    answers.append(assistant.ask(q))
                else:
                    qlog.ask(assistant.stream(q), channel="api")
                (plain if kind == "plain" else logged).append((time.perf_counter() - t) * 1000)
        record_ms = []
        for i in range(2000):
            t = time.perf_counter()
            qlog.record(answers[i % len(answers)], query="q", channel="api")
            record_ms.append((time.perf_counter() - t) * 1000)
    # the alternative design: write the row on the request's thread (its own connection, reused)
    store = LogStore(folder / "sync.db")
    conn = store.connect()
    insert_ms = []
    for i in range(300):
        t = time.perf_counter()
        entry = entry_for(answers[i % len(answers)], answer_id=new_answer_id(), query="q", channel="api", client=None,
                          index_build=None)
        store.insert([entry], conn)
        insert_ms.append((time.perf_counter() - t) * 1000)
    conn.close()
    return {
        "ask_plain_ms": _stats(plain),
        "ask_logged_ms": _stats(logged),
        "ask_added_ms": _stats([b - a for a, b in zip(plain, logged, strict=True)]),
        "record_ms": _stats(record_ms),
        "insert_in_request_ms": _stats(insert_ms),
    }, answers


def throughput(answers: list[Answer], rows: int, folder: Path) -> list[dict[str, Any]]:
    """Rows per second: one transaction per row on the caller (baseline), then the writer."""
    results = []
    store = LogStore(folder / "baseline.db")
    conn = store.connect()
    t = time.perf_counter()
    for i in range(rows):
        store.insert([entry_for(answers[i % len(answers)], answer_id=new_answer_id(), query="q", channel="api",
                                client=None, index_build=None)], conn)
    rate = rows / (time.perf_counter() - t)
    results.append({"how": "insert per row, on the caller", "threads": 1, "rows_per_s": rate})
    conn.close()
    for threads in (1, 16):
        db = folder / f"writer-{threads}.db"
        LogStore(db)  # created and migrated outside the timing
        with QuestionLog(db, max_queue=rows + 1) as qlog:
            t = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda i: qlog.record(answers[i % len(answers)], query="q", channel="api"), range(rows)))
            assert qlog.flush(timeout=600)
            seconds = time.perf_counter() - t
        assert LogStore(db).count() == rows, "rows were lost"
        results.append({"how": "background writer", "threads": threads, "rows_per_s": rows / seconds})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asks", type=int, default=60, help="questions asked plain and logged each")
    parser.add_argument("--rows", type=int, default=5000, help="rows written per throughput run")
    args = parser.parse_args(argv)
    settings = Settings(generator="extractive")
    with tempfile.TemporaryDirectory(prefix="bench-questionlog-") as tmp:
        latency, answers = added_latency(settings, args.asks, Path(tmp))
        writes = throughput(answers, args.rows, Path(tmp))

    base = latency["ask_plain_ms"]
    print(f"{'per ask (extractive, in process)':40} {'p50 ms':>9} {'p95 ms':>9}   {'p50 x':>6} {'p95 x':>6}"
          "   (x = ratio to plain ask)")
    for name, key in (("plain ask (baseline)", "ask_plain_ms"), ("logged ask", "ask_logged_ms"),
                      ("logged - plain, same question", "ask_added_ms"),
                      ("record(): id and queue slot", "record_ms"),
                      ("insert of one row in the request", "insert_in_request_ms")):
        s = latency[key]
        ratios = f"{s['p50'] / base['p50']:>6.3f} {s['p95'] / base['p95']:>6.3f}"
        print(f"{name:40} {s['p50']:>9.3f} {s['p95']:>9.3f}   {ratios}")
    print()
    print(f"{'writes':40} {'threads':>7} {'rows/s':>9}   {'x':>6}   (x = ratio to one transaction per row)")
    for r in writes:
        ratio = r["rows_per_s"] / writes[0]["rows_per_s"]
        print(f"{r['how']:40} {r['threads']:>7} {r['rows_per_s']:>9.0f}   {ratio:>6.2f}")

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench_questionlog-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "command": sys.argv}
    path.write_text(json.dumps({"meta": meta, "latency": latency, "throughput": writes}, indent=2), "utf-8")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
