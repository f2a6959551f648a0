"""Retrieval quality and speed: dense, BM25, RRF and weighted fusion side by side.

    .venv/bin/python benchmarks/bench_retrieval.py [--model NAME] [--questions FILE] [--repeat 3]

Builds a fresh index of ``corpus/`` in a temporary folder (timed), then asks every answerable
question of ``evals/questions.jsonl`` with each fusion method and prints recall@1, recall@5 and
MRR, overall and per language, as ratios against dense-only; search latency p50/p95 per method
as ratios against BM25-only; a sweep of the weighted fusion's dense weight; and the top dense
cosine of answerable, unanswerable and off-topic questions (what ``min_relevance`` can separate).
Results go to ``benchmarks/out/retrieval.json`` (and a timestamped copy).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer.retrieve import Retriever  # noqa: E402
from assistant.core.fusion import FUSIONS, minmax  # noqa: E402
from assistant.core.settings import Settings  # noqa: E402
from assistant.embed import load_embedder  # noqa: E402
from assistant.evaluation.dataset import Question, load_questions  # noqa: E402
from assistant.evaluation.metrics import recall_at_k, reciprocal_rank  # noqa: E402
from assistant.ingest import load_corpus  # noqa: E402
from assistant.storage.build import build_index  # noqa: E402
from assistant.storage.index import load_index  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9)

#: questions the report has nothing to do with, to see where min_relevance must sit
OFF_TOPIC = {
    "zh": ["今天北京天气怎么样？", "红烧肉怎么做？", "2022年世界杯冠军是哪个国家？", "请推荐几部好看的电影。",
           "Python里如何读取文件？", "猫为什么喜欢睡觉？", "明天股市会涨吗？", "如何学好英语口语？"],
    "en": ["What is the capital of France?", "How do I bake sourdough bread?", "Who won the 2022 World Cup?",
           "Tell me a joke about cats.", "How do I reset my router password?", "What is the boiling point of water?",
           "Recommend a good science fiction novel.", "How tall is Mount Everest?"],
}


def retrieval_metrics(retriever: Retriever, questions: Sequence[Question], fusion: str) -> dict[str, dict[str, float]]:
    """recall@1, recall@5 and MRR per group ('all', 'zh', 'en', and each question type)."""
    groups: dict[str, list[tuple[float, float, float]]] = {}
    for q in questions:
        texts = [h.passage.text for h in retriever.search(q.question, 10, fusion=fusion)]
        row = (recall_at_k(texts, q.gold, 1), recall_at_k(texts, q.gold, 5), reciprocal_rank(texts, q.gold))
        for group in ("all", q.language, f"type:{q.type}"):
            groups.setdefault(group, []).append(row)
    return {
        g: {"recall@1": float(np.mean([r[0] for r in rows])), "recall@5": float(np.mean([r[1] for r in rows])),
            "mrr": float(np.mean([r[2] for r in rows])), "n": len(rows)}
        for g, rows in groups.items()
    }


def weight_sweep(retriever: Retriever, questions: Sequence[Question]) -> dict[str, dict[str, float]]:
    """Weighted fusion for several dense weights, applied to every language (no English rule)."""
    n = len(retriever.passages)
    rows = {p.id: i for i, p in enumerate(retriever.passages)}
    dense, bm25, gold = [], [], []
    for q in questions:
        hits = retriever.search(q.question, n, fusion="dense")
        d, b = np.zeros(n), np.zeros(n)
        for h in hits:
            d[rows[h.passage.id]], b[rows[h.passage.id]] = h.scores["dense"], h.scores["bm25"]
        dense.append(d)
        bm25.append(b)
        gold.append(q.gold)
    out = {}
    for w in SWEEP:
        for lang in ("zh", "en"):
            idx = [i for i, q in enumerate(questions) if q.language == lang]
            mrr, r1 = [], []
            for i in idx:
                order = np.argsort(-(w * minmax(dense[i]) + (1 - w) * minmax(bm25[i]) + 1e-9 * dense[i]), kind="stable")
                texts = [retriever.passages[j].text for j in order[:10]]
                r1.append(recall_at_k(texts, gold[i], 1))
                mrr.append(reciprocal_rank(texts, gold[i]))
            out[f"w={w} {lang}"] = {"recall@1": float(np.mean(r1)), "mrr": float(np.mean(mrr)), "n": len(idx)}
    return out


def latency(retriever: Retriever, queries: Sequence[str], fusion: str, repeat: int) -> dict[str, float]:
    """Search latency in ms, query embedding included (the retriever's query cache is off)."""
    times = []
    for _ in range(repeat):
        for q in queries:
            t = time.perf_counter()
            retriever.search(q, 5, fusion=fusion)
            times.append((time.perf_counter() - t) * 1000)
    qs = statistics.quantiles(times, n=20)
    return {"p50_ms": statistics.median(times), "p95_ms": qs[18], "n": len(times)}


def relevance(retriever: Retriever, all_questions: Sequence[Question]) -> dict[str, Any]:
    """Top dense cosine per question group: the signal the answer pipeline's min_relevance gates on."""
    groups: dict[str, list[float]] = {}
    for q in all_questions:
        kind = "answerable" if q.answerable else "unanswerable"
        groups.setdefault(f"{kind} {q.language}", []).append(
            retriever.search(q.question, 1, fusion="dense")[0].scores["dense"]
        )
    for lang, queries in OFF_TOPIC.items():
        groups[f"off-topic {lang}"] = [retriever.search(q, 1, fusion="dense")[0].scores["dense"] for q in queries]
    summary: dict[str, Any] = {
        g: {"n": len(v), "min": min(v), "median": statistics.median(v), "max": max(v)}
        for g, v in sorted(groups.items())
    }
    for lang in ("zh", "en"):
        answerable = groups.get(f"answerable {lang}", [])
        off = groups.get(f"off-topic {lang}", [])
        if answerable and off:
            # the highest floor that refuses no answerable question, and what it catches
            floor = min(answerable) - 0.005
            summary[f"floor {lang}"] = {
                "keeps_all_answerable_below": round(floor, 3),
                "off_topic_refused": sum(c < floor for c in off) / len(off),
                "unanswerable_refused": _share_below(groups.get(f"unanswerable {lang}", []), floor),
            }
    return summary


def _share_below(values: list[float], floor: float) -> float | None:
    return sum(v < floor for v in values) / len(values) if values else None


def _ratio(value: float, base: float) -> str:
    return f"{value / base:5.2f}x" if base else "  n/a"


def print_report(result: dict[str, Any]) -> None:
    q = result["quality"]
    print(f"\nretrieval quality ({result['questions']} answerable questions, model {result['model']}, "
          f"{result['passages']} passages); ratio = method / dense")
    for group in ["all", "zh", "en"] + sorted(g for g in q["dense"] if g.startswith("type:")):
        n = q["dense"][group]["n"]
        print(f"  [{group}] n={n}")
        for method in FUSIONS:
            m, base = q[method][group], q["dense"][group]
            print(f"    {method:9} " + "  ".join(
                f"{k} {m[k]:.3f} ({_ratio(m[k], base[k])})" for k in ("recall@1", "recall@5", "mrr")))
    print(f"\nweighted fusion, dense weight sweep (default w = {result['fusion_dense_weight']}):")
    for key, m in result["weight_sweep"].items():
        print(f"    {key:10} recall@1 {m['recall@1']:.3f}  mrr {m['mrr']:.3f}  (n={m['n']})")
    b = result["build"]
    print(f"\nindex build: full {b['full_s']:.2f} s ({b['passages']} passages, "
          f"{b['passages'] / b['full_s']:.1f} passages/s); "
          f"no-change rebuild {b['incremental_s']:.2f} s ({_ratio(b['incremental_s'], b['full_s'])} of full)")
    for key, title in (
        ("latency", "search latency, k=5, query embedded each time "
                    "(every method embeds it: hits always carry the cosine)"),
        ("latency_cached_query", "search latency, k=5, query vector cached (BM25 + FAISS + fusion only)"),
    ):
        lat = result[key]
        print(f"{title}; ratio = method / bm25")
        for method in FUSIONS:
            m, base = lat[method], lat["bm25"]
            print(f"    {method:9} p50 {m['p50_ms']:7.2f} ms ({_ratio(m['p50_ms'], base['p50_ms'])})  "
                  f"p95 {m['p95_ms']:7.2f} ms ({_ratio(m['p95_ms'], base['p95_ms'])})")
    e = result["query_embedding_ms"]
    print(f"    (of which query embedding: p50 {e['p50_ms']:.1f} ms)")
    print("\ntop dense cosine by question group (what min_relevance can separate):")
    for group, v in result["relevance"].items():
        if group.startswith("floor"):
            print(f"    {group}: {v}")
        else:
            print(f"    {group:18} n={v['n']:3}  min {v['min']:.3f}  median {v['median']:.3f}  max {v['max']:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings.model_fields["embedding_model"].default)
    parser.add_argument("--questions", type=Path, default=ROOT / "evals" / "questions.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="latency passes over the questions")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, corpus_dir=ROOT / "corpus", index_dir=Path(tmp), embedding_model=args.model, max_k=200
        )
        embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
        passages = load_corpus(settings.corpus_dir, settings.chunk_max_chars)
        t = time.perf_counter()
        build_index(settings, embedder, passages, progress=False)
        full_s = time.perf_counter() - t
        t = time.perf_counter()
        build_index(settings, embedder, passages, progress=False)
        incremental_s = time.perf_counter() - t
        retriever = Retriever(load_index(settings, embedder.model_id), embedder, settings)

        all_questions = load_questions([args.questions])
        questions = [q for q in all_questions if q.answerable]
        quality = {m: retrieval_metrics(retriever, questions, m) for m in FUSIONS}
        sweep = weight_sweep(retriever, questions)
        rel = relevance(retriever, all_questions)

        texts = [q.question for q in questions]
        # query vectors are cached by now: this is the cost of BM25, FAISS and fusion alone
        retriever.result_cache_size = 0  # whole results are not: the searches are computed
        lat_cached = {m: latency(retriever, texts, m, args.repeat) for m in FUSIONS}
        retriever.query_cache_size = 0
        lat = {m: latency(retriever, texts, m, args.repeat) for m in FUSIONS}
        embed_times = []
        for q in texts:
            t = time.perf_counter()
            embedder.embed_queries([q])
            embed_times.append((time.perf_counter() - t) * 1000)

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
        "model": embedder.model_id,
        "default_fusion": settings.fusion,
        "fusion_dense_weight": settings.fusion_dense_weight,
        "passages": len(passages),
        "questions": len(questions),
        "quality": quality,
        "weight_sweep": sweep,
        "build": {"passages": len(passages), "full_s": full_s, "incremental_s": incremental_s},
        "latency": lat,
        "latency_cached_query": lat_cached,
        "query_embedding_ms": {"p50_ms": statistics.median(embed_times)},
        "relevance": rel,
    }
    print_report(result)
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (OUT / "retrieval.json").write_text(text, encoding="utf-8")
    (OUT / f"retrieval-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(text, encoding="utf-8")
    print(f"\nwrote {OUT / 'retrieval.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
