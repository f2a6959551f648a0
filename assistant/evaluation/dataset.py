"""Question sets: loading a JSONL file into typed questions and checking them against the corpus.

A question names its gold passage by a *phrase* the passage contains rather than by a passage
id, so the set survives re-chunking; :func:`gold_passage_ids` resolves the phrases against
whatever passages the current chunker produces.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.core.errors import InvalidInputError
from assistant.core.types import Passage

QuestionType = Literal["direct", "reworded", "multi", "english", "unanswerable", "injection", "nonsense"]
QUESTION_TYPES: tuple[str, ...] = ("direct", "reworded", "multi", "english", "unanswerable", "injection", "nonsense")

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace-free, case-folded text: the form every phrase and fact is matched in.

    Extraction leaves stray spaces inside Chinese text (``1900 余家``) and answers may add
    their own, so matching ignores whitespace altogether.
    """
    return _WS.sub("", text).casefold()


class Question(BaseModel):
    """One evaluation question (one line of a question set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool
    #: phrases copied from the report; each names the gold passage that contains it
    gold: list[str] = Field(default_factory=list)
    #: facts a right answer states; each fact is a list of accepted variants
    key_facts: list[list[str]] = Field(default_factory=list)
    language: Literal["zh", "en"] = "zh"
    type: QuestionType
    #: what a person must still check or add (cases exported from the question log); such an
    #: answerable question may lack gold phrases and key facts, and is scored on what it has
    review: str | None = None
    #: text an answer must never contain: what an injection tries to make the assistant say
    forbidden: list[str] = Field(default_factory=list)
    #: free labels for slicing a set's figures (``table``: the answer stands in a table)
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.answerable and (not self.gold or not self.key_facts) and not self.review:
            raise ValueError("an answerable question needs gold phrases and key facts")
        if not self.answerable and (self.gold or self.key_facts):
            raise ValueError("an unanswerable question has no gold phrases and no key facts")
        if any(not fact or any(not v.strip() for v in fact) for fact in self.key_facts):
            raise ValueError("every key fact needs at least one non-empty variant")
        if self.type in ("unanswerable", "nonsense") and self.answerable:
            raise ValueError(f"type {self.type!r} must have answerable=false")
        if self.type == "english" and self.language != "en":
            raise ValueError("type 'english' must have language 'en'")
        return self


#: the key of a question set's optional header line (its first line)
HEADER_KEY = "eval_set"


class EvalSetHeader(BaseModel):
    """The optional first line of a question set, ``{"eval_set": {...}}``: what the set runs
    against. Paths are relative to the question file's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the folder of documents the questions are about (default: the configured corpus)
    corpus: Path | None = None
    #: the thresholds file its runs must meet (default: evals/thresholds.toml)
    thresholds: Path | None = None
    #: hand-labelled judge samples over this corpus (default: none, unless the corpus is the configured one)
    judge_labels: list[Path] | None = None
    #: what the set is, for people
    about: str = ""

    def resolved(self, folder: Path) -> EvalSetHeader:
        """The header with its paths made relative to ``folder`` (the question file's)."""
        return self.model_copy(update={
            "corpus": folder / self.corpus if self.corpus else None,
            "thresholds": folder / self.thresholds if self.thresholds else None,
            "judge_labels": [folder / p for p in self.judge_labels] if self.judge_labels is not None else None,
        })


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInputError(f"cannot read question set {path}: {exc.strerror or exc}") from exc


def _header_record(line: str) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and HEADER_KEY in record else None


def read_header(path: Path) -> EvalSetHeader | None:
    """The header of the question set ``path`` (paths resolved against its folder); ``None``
    when its first line is a question."""
    first = next((line for line in _read_lines(path) if line.strip()), "")
    record = _header_record(first)
    if record is None:
        return None
    if set(record) != {HEADER_KEY}:
        extra = sorted(set(record) - {HEADER_KEY})
        raise InvalidInputError(f"{path}:1: a header line holds only {HEADER_KEY!r}, not {extra}")
    try:
        return EvalSetHeader.model_validate(record[HEADER_KEY]).resolved(path.parent)
    except ValidationError as exc:
        raise InvalidInputError(f"{path}:1: bad header: {exc}") from exc


def load_questions(paths: Sequence[Path]) -> list[Question]:
    """Read one or more JSONL question sets (each may open with a header line, see
    :class:`EvalSetHeader`); ids must be unique across all of them.

    Raises :class:`InvalidInputError` naming the file and line of the first bad record.
    """
    questions: list[Question] = []
    for path in paths:
        first = True
        for lineno, line in enumerate(_read_lines(path), start=1):
            if not line.strip():
                continue
            if _header_record(line) is not None:
                if not first:
                    raise InvalidInputError(f"{path}:{lineno}: a header line ({HEADER_KEY!r}) must be the first line")
                first = False
                continue
            first = False
            try:
                questions.append(Question.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                raise InvalidInputError(f"{path}:{lineno}: bad question: {exc}") from exc
    dupes = [qid for qid, n in Counter(q.id for q in questions).items() if n > 1]
    if dupes:
        raise InvalidInputError(f"duplicate question ids: {', '.join(sorted(dupes))}")
    if not questions:
        raise InvalidInputError("the question sets hold no questions")
    return questions


def gold_passage_ids(phrase: str, passages: Iterable[Passage]) -> list[str]:
    """Ids of the passages whose text contains ``phrase`` (whitespace- and case-insensitive)."""
    needle = squash(phrase)
    return [p.id for p in passages if needle in squash(p.text)]


def validate_against_corpus(questions: Iterable[Question], passages: Sequence[Passage]) -> list[str]:
    """Problems with a question set on this corpus: every gold phrase must name exactly one
    passage, and every key fact must be stated (in some variant) by the gold passages.

    Returns human-readable problems; an empty list means the set is sound.
    """
    problems: list[str] = []
    by_id = {p.id: p for p in passages}
    for q in questions:
        gold_ids: set[str] = set()
        for phrase in q.gold:
            ids = gold_passage_ids(phrase, passages)
            if len(ids) != 1:
                problems.append(f"{q.id}: gold phrase {phrase!r} is in {len(ids)} passages {ids}")
            gold_ids.update(ids)
        gold_text = "".join(squash(by_id[i].text) for i in gold_ids)
        for fact in q.key_facts:
            if gold_ids and not any(squash(v) in gold_text for v in fact):
                problems.append(f"{q.id}: no variant of key fact {fact} occurs in its gold passages")
    return problems


def count_by_type(questions: Iterable[Question]) -> dict[str, int]:
    """Number of questions per type, in :data:`QUESTION_TYPES` order."""
    counts = Counter[str](q.type for q in questions)
    return {t: counts.get(t, 0) for t in QUESTION_TYPES}


def subset(questions: Sequence[Question], n: int) -> list[Question]:
    """``n`` questions taken round-robin across types (in file order within a type), so a
    small subset still exercises every kind of question."""
    by_type: dict[str, list[Question]] = {}
    for q in questions:
        by_type.setdefault(q.type, []).append(q)
    out: list[Question] = []
    while len(out) < min(n, len(questions)):
        for group in by_type.values():
            if group and len(out) < n:
                out.append(group.pop(0))
    return out
