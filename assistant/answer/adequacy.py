"""Adequacy: whether a checked answer answers what was asked.

After the citation check has kept only supported claims, :class:`Adequacy` decides whether they
state an item of the asked kind (a figure, a rank, a date) in an evidence clause about the asked
subject (a rank question is not answered by "5.86万亿元"), part by part for a two-part question;
a part it does not answer gets its own "the reports do not say" sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer.cite import TRAILING, CheckedAnswer, Claim
from assistant.answer.evidence import Evidence
from assistant.answer.refusal import PART_REFUSALS, REFUSALS, Verdict
from assistant.text.language import Language
from assistant.text.numbers import ClauseCosines, numbers, ordinals, states_asked_figure, states_asked_figure_by_meaning
from assistant.text.questions import asked_kind, counted_thing
from assistant.text.sentences import split_sentences
from assistant.text.statements import mentions

#: the longest counted thing held against an answer: a name (国家实验室, 5G基站), not a run-on phrase
_MAX_COUNTED_NAME = 5


class Adequacy:
    """Judges checked answers against their question; ``clause_cosines`` (the embedder's) lets the
    closest evidence state a figure in other words than the question's."""

    def __init__(self, clause_cosines: ClauseCosines | None = None) -> None:
        self.clause_cosines = clause_cosines

    def answers(self, question: str | list[str], language: Language, checked: CheckedAnswer,
                evidence: Sequence[Evidence]) -> Verdict:
        """Whether ``checked`` answers ``question`` (or each of its parts) with an item of the asked
        kind; a part it does not answer gets its own "the reports do not say" sentence."""
        refused = Verdict(True, REFUSALS[language])
        if checked.empty:
            return refused
        parts = [question] if isinstance(question, str) else question
        answered = [self._answering(part, language, checked, evidence) for part in parts]
        if not any(answered):
            return refused
        if len(parts) == 1:
            return Verdict(False, checked.text)
        missing = [PART_REFUSALS[language].format(part=TRAILING.sub("", p))
                   for p, ok in zip(parts, answered, strict=True) if not ok]
        return Verdict(False, checked.render(checked.claims, missing))

    def _answering(self, question: str, language: Language, checked: CheckedAnswer,
                   evidence: Sequence[Evidence]) -> list[Claim]:
        """The claims that state an item of the kind ``question`` asks for, about what it asks."""
        kind = asked_kind(question)
        # the evidence closest in meaning may state the figure in other words than the question's
        closest = max(range(len(evidence)), key=lambda i: evidence[i].cosine, default=None)
        by_meaning = self.clause_cosines
        out = []
        for c in checked.claims:
            sources = [evidence[i].text for i in c.evidence] or [
                s for i in c.passages for s in split_sentences(checked.passages[i].text)]
            if kind == "figure":
                stated = numbers(c.body) - numbers(question)
                # the figure must be about the thing counted, by any generator ("多少个国家实验室" is
                # not answered by "140多家全国重点实验室"), named where it stands or in its section; a
                # phrase longer than a name ("中小型公司借助城…") runs on into the question and is not held
                # against a reworded answer (on the 1.5B it refused "4.5万家企业实施数字化改造", no gain)
                counted = counted_thing(question) if language == "zh" else ""
                counted = counted if len(counted) <= _MAX_COUNTED_NAME else ""
                where = " ".join([*sources, *(checked.passages[i].section for i in c.passages)])
                ok = bool(stated) and (not counted or mentions(counted, where)) and (language == "en" or any(
                    states_asked_figure(question, s, figures=stated) for s in sources) or (
                    closest in c.evidence and by_meaning is not None and any(
                        states_asked_figure_by_meaning(question, s, by_meaning, figures=stated) for s in sources)))
            elif kind == "rank":
                ok = bool(ordinals(c.body) & {o for s in sources for o in ordinals(s)})
            elif kind == "date":
                ok = bool(numbers(c.body) - numbers(question))
            else:
                ok = True
            if ok:
                out.append(c)
        return out
