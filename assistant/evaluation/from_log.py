"""Down-rated and refused answers from the log, turned into eval cases (``evals/questions.jsonl`` format).

Answers to the same question (same text) are taken together. A question becomes a case when one
of its answers was refused or rated down. Then:

* **key facts** are the figures of the user's correction (or, failing one, of an answer the user
  rated up), minus the question's own figures and years;
* the **gold passage** is one the user agreed with: the first passage, among those cited by
  up-rated answers, then those cited or retrieved for the question, that states every key fact;
  its gold phrase is the clause (or sentence) stating the first fact, checked to name that
  passage alone in the current corpus;
* a correction saying the reports do not tell, or a refusal rated up, makes an unanswerable case.

What cannot be settled this way (a refusal nobody rated, a thumbs down without a usable
correction) is still exported, with ``review`` saying what a person must add or confirm;
``assistant eval`` runs such cases and scores what they do define.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.refusal import REFUSALS
from assistant.core.printable import printable
from assistant.core.types import Passage
from assistant.evaluation.dataset import gold_passage_ids, squash
from assistant.questionlog.records import LogEntry
from assistant.text.markers import strip_markers
from assistant.text.sentences import split_clauses, split_sentences

# a figure with its magnitude and percent sign: "1557", "1.76万", "53.2%", "5.86万亿"
_FIGURE = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万亿|亿|万|千)?\s*(%)?")
_NOT_A_FACT = re.compile(r"\s*[年月日号]")  # years and dates frame a question; they are not its answer
#: corrections that say the answer should have been a refusal
_SAYS_UNANSWERABLE = re.compile(
    r"没有提到|未提及|没有提及|并未提|报告中没有|not (?:say|mention|state)|does(?:n't| not) say", re.I
)
#: a gold phrase shorter than this names too little to be trusted even when it is unique
_MIN_PHRASE = 6


@dataclass
class Export:
    """The cases of one export and what was left out."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    #: answers without question text (logged with ASSISTANT_LOG_TEXTS=false): nothing to ask again
    without_text: int = 0

    @property
    def for_review(self) -> int:
        return sum("review" in c for c in self.cases)


def _nfkc(text: str) -> str:
    return squash(unicodedata.normalize("NFKC", text))


def key_facts(text: str, question: str) -> list[list[str]]:
    """The figures ``text`` states, each as its accepted variants (``53.2%`` also as ``53.2％``),
    without those the question itself contains, or years and dates."""
    asked = {_value(m) for m in _FIGURE.finditer(unicodedata.normalize("NFKC", question))}
    facts: list[list[str]] = []
    # "[1]" is a citation, not a figure
    normalized = unicodedata.normalize("NFKC", strip_markers(text))
    for m in _FIGURE.finditer(normalized):
        if _NOT_A_FACT.match(normalized, m.end()):
            continue
        value = _value(m)
        if value in asked:
            continue
        variants = [value + "%", value + "％"] if m.group(3) else [value]
        if variants not in facts:
            facts.append(variants)
    return facts


def _value(m: re.Match[str]) -> str:
    return m.group(1).replace(",", "") + (m.group(2) or "")


def _states(passage: Passage, facts: list[list[str]]) -> bool:
    text = _nfkc(passage.text)
    return all(any(_nfkc(v) in text for v in fact) for fact in facts)


def gold_phrase(passage: Passage, fact: list[str], passages: Sequence[Passage]) -> str | None:
    """The shortest clause, else the sentence, of ``passage`` stating ``fact`` that occurs in no other
    passage; None when there is none."""
    for sentence in split_sentences(passage.text):
        if not any(_nfkc(v) in _nfkc(sentence) for v in fact):
            continue
        clauses = [c.strip() for c in split_clauses(sentence) if any(_nfkc(v) in _nfkc(c) for v in fact)]
        for candidate in [*clauses, sentence.strip()]:
            if len(squash(candidate)) >= _MIN_PHRASE and gold_passage_ids(candidate, passages) == [passage.id]:
                return candidate
    return None


def _candidates(group: Sequence[LogEntry], by_id: dict[str, Passage]) -> list[Passage]:
    """Passages in the order of the user's agreement: cited by up-rated answers, then cited, then
    retrieved; only those still in the corpus."""
    up = [e for e in group if e.rating == "up" and not e.refused]
    ids = [c.passage_id for e in up for c in e.citations]
    ids += [c.passage_id for e in group for c in e.citations]
    ids += [p.passage_id for e in group for p in e.passages]
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def _case(group: Sequence[LogEntry], passages: Sequence[Passage], by_id: dict[str, Passage]) -> dict[str, Any]:
    newest = group[0]
    # logged texts are a stranger's: no escape sequence (whose digits would read as figures) goes out
    question = printable(newest.question or "")
    language = "en" if newest.language == "en" else "zh"
    case: dict[str, Any] = {"id": f"log-{newest.answer_id[:12]}", "question": question, "answerable": True,
                            "gold": [], "key_facts": [], "language": language}
    correction = next((printable(e.correction) for e in group if e.correction), None)
    agreed_answer = next((printable(e.answer) for e in group if e.rating == "up" and not e.refused and e.answer), None)
    refusal_agreed = any(e.refused and e.rating == "up" for e in group)

    if (correction and (_SAYS_UNANSWERABLE.search(correction) or any(r in correction for r in REFUSALS.values()))) or (
        refusal_agreed and not correction and not agreed_answer
    ):
        return {**case, "answerable": False, "type": "unanswerable"}
    if all(e.refused and e.rating is None for e in group):
        return {**case, "answerable": False, "type": "unanswerable",
                "review": "refused, and nobody rated it: confirm the reports do not say this"}

    case["type"] = "english" if case["language"] == "en" else "direct"
    source = correction or agreed_answer
    facts = key_facts(source, question) if source else []
    if not facts:
        if correction:
            reason = "the correction states no figure"
        elif any(e.rating == "down" for e in group):
            reason = "rated down without a correction"
        else:
            reason = "refused once and answered once, never rated"
        return {**case, "review": f"{reason}: write the gold phrase and key facts"}
    for passage in _candidates(group, by_id):
        if _states(passage, facts) and (phrase := gold_phrase(passage, facts[0], passages)):
            return {**case, "gold": [phrase], "key_facts": facts}
    shown = ", ".join(f[0] for f in facts)
    return {**case, "review": f"no retrieved passage states {shown}: find the gold passage or fix the facts"}


def eval_cases(entries: Iterable[LogEntry], passages: Sequence[Passage]) -> Export:
    """The eval cases in ``entries`` (newest first, as :meth:`LogStore.entries` returns them),
    checked against the corpus ``passages``."""
    export = Export()
    groups: dict[str, list[LogEntry]] = {}
    for entry in entries:
        if entry.question is None:
            export.without_text += 1
            continue
        groups.setdefault(entry.question_sha256, []).append(entry)
    by_id = {p.id: p for p in passages}
    for group in groups.values():
        if any(e.refused or e.rating == "down" for e in group):
            export.cases.append(_case(group, passages, by_id))
    return export
