"""The values that flow through the pipeline: passages, hits, citations, answers, stream events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Passage:
    """One citable piece of a report.

    ``id`` is stable across runs (derived from the source file name and the passage's
    place in the report's structure, not from its position in a list).
    """

    id: str
    source: str  # file name inside the corpus folder
    section: str  # e.g. "四、关于培育壮大新兴产业和未来产业 › （九）发展壮大新兴产业"
    text: str
    kind: str = "item"  # title | preamble | item | closing | signature | paragraph

    @property
    def hash(self) -> str:
        """Content hash used by the index to skip re-embedding unchanged passages."""
        h = hashlib.sha256()
        for part in (self.id, self.source, self.section, self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "source": self.source, "section": self.section, "text": self.text, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Passage":
        return cls(id=d["id"], source=d["source"], section=d["section"], text=d["text"], kind=d.get("kind", "item"))


@dataclass(frozen=True)
class Hit:
    """A passage returned by retrieval, with its fused score and 1-based rank."""

    passage: Passage
    score: float
    rank: int
    scores: dict[str, float] = field(default_factory=dict)  # per-retriever scores, for diagnostics

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "passage_id": p.id,
            "section": p.section,
            "source": p.source,
            "text": p.text,
            "score": round(float(self.score), 6),
        }


class Citation(BaseModel):
    """A checked citation: marker ``[n]`` in the answer text points at this passage."""

    marker: int
    passage_id: str
    section: str
    source: str
    text: str
    score: float
    #: the answer sentences this citation supports (for highlighting in the chat)
    sentences: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    """The result of :func:`assistant.ask`; its ``to_json()`` is the CLI/API contract."""

    question: str
    answer: str
    refused: bool
    generator: str
    citations: list[Citation] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    language: Literal["zh", "en"] = "zh"
    #: the passages that were given to the generator (retrieval order)
    passages: list[dict[str, Any]] = Field(default_factory=list)
    #: prompt name and content hash, so an answer can be traced to the prompt that produced it
    prompt: dict[str, str] = Field(default_factory=dict)
    #: sentences of the draft that were dropped because no retrieved passage supports them
    dropped: list[str] = Field(default_factory=list)
    #: the raw generator output before citation checking
    draft: str = ""

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract shared by ``assistant ask --json`` and ``POST /v1/ask``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "generator": self.generator,
            "citations": [c.model_dump(exclude={"sentences"}) for c in self.citations],
            "timings": self.timings,
            "language": self.language,
            "prompt": self.prompt,
            "dropped": self.dropped,
        }


# ---- streaming events -------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcesEvent:
    """Emitted first: the passages retrieved for the question."""

    hits: list[Hit]
    query: str  # the (possibly rewritten) standalone query used for retrieval


@dataclass(frozen=True)
class TokenEvent:
    """A piece of the draft answer as the generator produces it (before checking)."""

    text: str


@dataclass(frozen=True)
class AnswerEvent:
    """Emitted last: the checked answer."""

    answer: Answer


Event = Union[SourcesEvent, TokenEvent, AnswerEvent]
