"""The values that flow through the pipeline: passages, hits, citations, answers, stream events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: what joins the headings of a section path ("四、… › （九）…")
SECTION_SEP = " › "


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
    kind: str = "item"  # title | preamble | item | closing | signature | paragraph | table
    #: the title of the document the passage belongs to (its subject and period are read from it)
    title: str = ""

    @property
    def heading(self) -> str:
        """The last heading of the section path ("（九）发展壮大新兴产业")."""
        return self.section.rsplit(SECTION_SEP.strip(), 1)[-1].strip()

    @property
    def hash(self) -> str:
        """Content hash used by the index to skip re-embedding unchanged passages."""
        h = hashlib.sha256()
        for part in (self.id, self.source, self.section, self.text, self.title):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "source": self.source, "section": self.section, "text": self.text, "kind": self.kind,
                "title": self.title}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Passage:
        return cls(id=d["id"], source=d["source"], section=d["section"], text=d["text"], kind=d.get("kind", "item"),
                   title=d.get("title", ""))


@dataclass(frozen=True)
class Hit:
    """A passage returned by retrieval, with its fused score and 1-based rank."""

    passage: Passage
    score: float
    rank: int
    scores: dict[str, float] = field(default_factory=dict)  # per-retriever scores, for diagnostics

    def to_source(self) -> Source:
        """The hit as callers see it (search results, sources events)."""
        return Source.of(self.passage, self.score)


class Source(BaseModel):
    """A passage as callers see it: a search result, or a passage an answer was given."""

    model_config = ConfigDict(extra="forbid")

    passage_id: str
    #: the title of the passage's document
    title: str = ""
    section: str
    source: str
    text: str
    score: float

    @classmethod
    def of(cls, passage: Passage, score: float) -> Source:
        return cls(passage_id=passage.id, title=passage.title, section=passage.section, source=passage.source,
                   text=passage.text, score=round(float(score), 6))


class Citation(Source):
    """A checked citation: marker ``[n]`` in the answer text points at this passage."""

    marker: int
    #: the passage's sentences the answer rests on (the evidence the answer cited)
    evidence: list[str] = Field(default_factory=list)


class AnswerMeta(BaseModel):
    """What every answer to one question records, refused or not."""

    model_config = ConfigDict(extra="forbid")

    question: str
    generator: str
    language: Literal["zh", "en"] = "zh"
    #: prompt name and content hash, so an answer can be traced to the prompt that produced it
    prompt: dict[str, str] = Field(default_factory=dict)


#: how an answer's tokens were counted, most exact first: the local model's own counts, the OpenAI-compatible
#: server's ``usage``, the local model's tokenizer over what a generator read and wrote, an estimate by
#: character classes; ``none`` when no generator ran (a refusal before generation)
Counted = Literal["model", "upstream", "tokenizer", "estimate", "none"]


class Usage(BaseModel):
    """The tokens one answer took, as OpenAI's ``usage`` reports them, and how they were counted."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    counted: Counted = "none"

    def openai(self) -> dict[str, int]:
        """The OpenAI ``usage`` object (the three counts)."""
        return self.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})


class AnswerJSON(AnswerMeta):
    """The stable JSON contract shared by ``assistant ask --json`` and ``POST /v1/ask``."""

    answer: str
    refused: bool
    citations: list[Citation] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    #: sentences of the draft that were dropped because no retrieved passage supports them
    dropped: list[str] = Field(default_factory=list)
    #: the id under which the question log keeps this answer (for feedback); None when not logged
    answer_id: str | None = None
    #: the tokens the generator read and wrote for this answer (condensing a follow-up included)
    usage: Usage | None = None


class Answer(AnswerJSON):
    """The result of :meth:`assistant.answer.pipeline.Assistant.ask`; ``to_json()`` is its public contract."""

    #: the passages that were given to the generator (retrieval order)
    passages: list[Source] = Field(default_factory=list)
    #: the raw generator output before citation checking
    draft: str = ""
    #: citation marker -> the answer sentences it supports (the chat highlights their evidence)
    support: dict[int, list[str]] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The :class:`AnswerJSON` fields, as JSON-ready data."""
        return self.model_dump(include=set(AnswerJSON.model_fields))

    @classmethod
    def refusal(cls, meta: AnswerMeta, text: str, *, timings: dict[str, float], passages: list[Source],
                draft: str = "", dropped: list[str] | None = None, usage: Usage | None = None) -> Answer:
        """"The reports do not say": no citations."""
        return cls(**meta.model_dump(), answer=text, refused=True, timings=timings, passages=passages,
                   draft=draft, dropped=dropped or [], usage=usage)

    @classmethod
    def grounded(cls, meta: AnswerMeta, text: str, citations: list[Citation], *, support: dict[int, list[str]],
                 timings: dict[str, float], passages: list[Source], draft: str, dropped: list[str],
                 usage: Usage | None = None) -> Answer:
        """A checked answer whose markers point at ``citations``."""
        return cls(**meta.model_dump(), answer=text, refused=False, citations=citations, support=support,
                   timings=timings, passages=passages, draft=draft, dropped=dropped, usage=usage)


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


Event = SourcesEvent | TokenEvent | AnswerEvent
