"""Running the assistant for ``assistant calibrate``: every question answered once with the
floors off, recording the score each floor is compared with and the outcome under each
citation threshold of a grid (the same draft checked again, as the pipeline checks it). The
fitting itself is :mod:`assistant.evaluation.floors`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from assistant.answer.adequacy import Judge
from assistant.answer.cite import Similarity
from assistant.answer.evidence import Evidence, gather, whole
from assistant.answer.generate import GenerationRequest
from assistant.answer.generate.extractive import ExtractiveGenerator
from assistant.answer.pipeline import Assistant
from assistant.answer.refusal import top_cosine
from assistant.assemble import checker_for
from assistant.core.types import Answer
from assistant.evaluation.dataset import Question
from assistant.evaluation.floors import CHECK_GRID, Observation, Outcome, Steps
from assistant.evaluation.metrics import facts_found
from assistant.text.questions import split_parts


def _outcome(question: Question, refused: bool, text: str) -> Outcome:
    if refused:
        return "refused"
    return "right" if question.answerable and all(facts_found(text, question.key_facts)) else "wrong"


class _CachedSimilarity:
    """The retriever's claim-to-evidence cosines (and the claim's noise level), each computed once:
    a draft is checked again at every threshold tried, and its claims need embedding only once."""

    def __init__(self, similarity: Similarity) -> None:
        self.similarity = similarity
        self.cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[float], float]] = {}

    def __call__(self, claim: str, units: Sequence[Evidence]) -> tuple[list[float], float]:
        key = (claim, tuple((u.passage.id, u.text) for u in units))
        if key not in self.cache:
            self.cache[key] = self.similarity(claim, units)
        return self.cache[key]


def _check_steps(assistant: Assistant, question: Question, answer: Answer) -> Steps:
    """The outcome of ``answer``'s draft checked again at each threshold of :data:`CHECK_GRID`,
    as the pipeline checks it (``cite_min_overlap`` for Chinese questions, ``cite_min_crosslingual``
    for English ones; the other one stays in force). One approximation: the draft cited evidence
    sentences, and is checked again against the whole passages they came from (the markers are
    repaired to the passage that supports each sentence)."""
    if not answer.draft:  # the generator refused: no threshold of the check changes that
        return ((CHECK_GRID[0], "refused"),)
    settings = assistant.settings
    passages = [p for p in (assistant.passage(s.passage_id) for s in answer.passages) if p is not None]
    units = [whole(p) for p in passages]
    space = assistant.source.snapshot().sentences
    similarity = _CachedSimilarity(space.sentence_similarity)
    judge = Judge.from_settings(settings, space.clause_cosines)
    steps: list[tuple[float, Outcome]] = []
    for t in CHECK_GRID:
        setting = "cite_min_overlap" if answer.language == "zh" else "cite_min_crosslingual"
        checker = checker_for(settings.model_copy(update={setting: t})).using(similarity)
        checked = checker.check(answer.draft, units, answer.language)
        refused = judge.verdict(answer.question, answer.language, checked, units).refused
        steps.append((t, _outcome(question, refused, checked.text)))
    return tuple(steps)


def observe(assistant: Assistant, questions: Sequence[Question], generator: str | None = None,
            on_question: Callable[[], object] | None = None) -> list[Observation]:
    """Answer every question with ``assistant`` (built with the floors at :data:`FLOOR_OFF`) and
    record the scores the floors are compared with, and the outcome under each citation
    threshold of :data:`CHECK_GRID` (the same draft checked again, as the pipeline checks it)."""
    gen = assistant.generators.get(generator)
    out = []
    for q in questions:
        hits = assistant.search(q.question)
        answer = assistant.ask(q.question, generator=generator)
        scores = {"retrieval": top_cosine(hits)}
        if isinstance(gen, ExtractiveGenerator):
            # the generator's own floor is off, so its best pick is the best eligible sentence of
            # the evidence the pipeline gives it
            parts = split_parts(answer.question)
            snap = assistant.source.snapshot()
            evidence, passages = gather(snap.retriever.search, snap.sentences, assistant.settings, parts, hits, [],
                                        for_llm=False)
            request = GenerationRequest(messages=[], question=answer.question, passages=passages,
                                        language=answer.language, evidence=evidence, parts=parts)
            picked = gen.select(request)
            scores["extractive"] = picked[0].score if picked else -math.inf
        outcome = _outcome(q, answer.refused, answer.answer)
        checks = {"cite": _check_steps(assistant, q, answer)}
        out.append(Observation(q.id, answer.language, q.answerable, scores, outcome, checks))
        if on_question:
            on_question()
    return out
