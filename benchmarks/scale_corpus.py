"""Synthetic corpora for ``bench_scale.py``: real report sentences recombined, and generated text.

- ``recombined(n)``: passage *i* is 2-5 sentences of the report drawn at random (seeded), with
  the section of its first sentence. Every word is the report's; the combinations are new.
- ``generated(n)``: passage *i* is 20-60 jieba words drawn at random from the report's vocabulary
  (text for BM25 only; the bench pairs it with random unit vectors and says so).

Vectors for recombined passages, in order of preference (``vectors()`` says which it used):

- ``real``: the passage embedded by the embedder, cached in ``benchmarks/out/cache/``;
- ``composed``: the normalised mean of the real embeddings of the passage's sentences (every
  sentence of the report is embedded once). ``bench_scale.py`` reports how close composed vectors
  are to real ones where both exist.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.core.types import Passage  # noqa: E402
from assistant.embed import Embedder  # noqa: E402
from assistant.ingest import load_corpus  # noqa: E402

CACHE = ROOT / "benchmarks" / "out" / "cache"
#: the sentence split the cached corpora were made with (the chunker's, before ingest became a
#: package); kept here so the recombined passages, hence the cache keys, stay the same
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])(?![”’」』）)])|(?<=[。！？!?][”’」』])")


def split_sentences(text: str) -> list[str]:
    """Split after sentence-ending punctuation, keeping closing quotes attached."""
    parts = [s for s in _SENTENCE_END.split(text) if s]
    out: list[str] = []
    for part in parts:
        out.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", part) if s)
    return out
SEED = 20251128


@dataclass(frozen=True)
class Sentence:
    """One sentence of the report and the section it came from."""

    text: str
    section: str


def report_sentences(corpus_dir: Path = ROOT / "corpus") -> list[Sentence]:
    """Every distinct sentence (6+ characters) of the reports in ``corpus_dir``."""
    seen: set[str] = set()
    out: list[Sentence] = []
    for p in load_corpus(corpus_dir):
        for line in p.text.splitlines():
            for s in split_sentences(line):
                s = s.strip()
                if len(s) >= 6 and s not in seen:
                    seen.add(s)
                    out.append(Sentence(s, p.section))
    return out


def recombined(n: int, sentences: list[Sentence], seed: int = SEED) -> tuple[list[Passage], list[np.ndarray]]:
    """``n`` passages of 2-5 report sentences each, and the sentence numbers each one holds."""
    # drawn passage by passage, so the first m passages of any n >= m are the same corpus
    rng = np.random.default_rng(seed)
    passages, members = [], []
    for i in range(n):
        rows = rng.choice(len(sentences), size=int(rng.integers(2, 6)), replace=False)
        text = "".join(sentences[r].text for r in rows)
        passages.append(
            Passage(
                id=f"synthetic#{i:07d}",
                source=f"synthetic-{i // 1000:04d}.txt",
                section=sentences[rows[0]].section,
                text=text,
            )
        )
        members.append(rows)
    return passages, members


def generated(n: int, sentences: list[Sentence], seed: int = SEED) -> list[Passage]:
    """``n`` passages of 20-60 words drawn from the report's jieba vocabulary (not real prose)."""
    import jieba

    vocab = sorted({w for s in sentences for w in jieba.cut(s.text) if w.strip()})
    rng = np.random.default_rng(seed)
    words = np.asarray(vocab, dtype=object)
    sizes = rng.integers(20, 61, size=n)
    picks = rng.integers(0, len(vocab), size=int(sizes.sum()))
    out, at = [], 0
    for i in range(n):
        k = int(sizes[i])
        out.append(
            Passage(
                id=f"generated#{i:07d}",
                source=f"generated-{i // 1000:04d}.txt",
                section="generated",
                text="".join(words[picks[at : at + k]]),
            )
        )
        at += k
    return out


def random_unit_vectors(n: int, dim: int, seed: int = SEED) -> np.ndarray:
    """``n`` random unit vectors (float32), generated in blocks to bound memory."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _cached(name: str, texts: list[str], embed: Embedder, batch: int = 32, log: bool = True) -> np.ndarray:
    """Embed ``texts`` as passages, caching the result by model and content (resumable in chunks)."""
    key = hashlib.sha256(("\x00".join([embed.model_id, *texts])).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{len(texts)}-{key}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    chunk_dir = CACHE / f"{path.stem}.parts"
    chunk_dir.mkdir(exist_ok=True)
    chunk = 1000
    started = time.perf_counter()
    parts = []
    for start in range(0, len(texts), chunk):
        part = chunk_dir / f"{start:08d}.npy"
        stop = min(len(texts), start + chunk)
        if not part.exists():
            batches = [texts[i : min(i + batch, stop)] for i in range(start, stop, batch)]
            vecs = np.concatenate([embed.embed_passages(b) for b in batches])
            np.save(part, vecs)
            if log:
                print(
                    f"  embedded {min(len(texts), start + chunk)}/{len(texts)} {name}"
                    f" in {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        # parts written before the batch slice stopped at the chunk's end hold a few rows of the
        # next chunk after their own (texts in order): keep the chunk's own rows
        parts.append(np.load(part)[: stop - start])
    vectors = np.concatenate(parts).astype(np.float32)
    np.save(path, vectors)
    return vectors


def sentence_vectors(sentences: list[Sentence], embed: Embedder) -> np.ndarray:
    """The real embedding of every report sentence (cached)."""
    return _cached("sentences", [s.text for s in sentences], embed)


def composed_vectors(members: list[np.ndarray], sentence_vecs: np.ndarray) -> np.ndarray:
    """Each passage's vector as the normalised mean of its sentences' real embeddings."""
    out = np.empty((len(members), sentence_vecs.shape[1]), dtype=np.float32)
    for i, rows in enumerate(members):
        out[i] = sentence_vecs[rows].mean(axis=0)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def real_vectors(passages: list[Passage], embed: Embedder) -> np.ndarray:
    """The real embedding of every passage's text (cached; hours for 1e5 on 2 cores)."""
    return _cached("passages", [p.text for p in passages], embed)


def save_json(path: Path, data: object) -> None:
    """Write ``data`` as pretty JSON (UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    # `python benchmarks/scale_corpus.py N`: embed the first N recombined passages for real (cached)
    from assistant.embed import load_embedder

    count = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000
    sents = report_sentences()
    passages_, _ = recombined(count, sents)
    embedder = load_embedder()
    print(f"{len(sents)} sentences; embedding {count} recombined passages", file=sys.stderr)
    sentence_vectors(sents, embedder)
    real_vectors(passages_, embedder)
