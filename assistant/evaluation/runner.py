"""The eval runner: every question through the same ``Assistant.ask()`` the API uses, scored.

Retrieval is scored once per question with ``assistant.search(question, k)``; answers are
scored per generator (and per noise level) from the :class:`~assistant.core.types.Answer` that
``ask()`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tqdm import tqdm

from assistant.core.errors import AssistantError
from assistant.core.types import Answer, Hit
from assistant.evaluation.dataset import Question, squash
from assistant.evaluation.judge import GroundingJudge
from assistant.evaluation.metrics import facts_found, key_fact_scores, mean, percentile, recall_at_k, reciprocal_rank

#: how many hits retrieval metrics look at (recall@5, MRR over the top 5)
RETRIEVAL_K = 5
#: the per-stage timings reported, when the pipeline records them
STAGES = ("retrieve_ms", "evidence_ms", "generate_ms", "check_ms", "first_token_ms", "total_ms")


class SearchFn(Protocol):
    """``Assistant.search`` as the runner calls it."""

    def __call__(self, query: str, k: int) -> list[Hit]: ...


@dataclass
class Run:
    """The records of one generator at one noise level, and their aggregates."""

    generator: str
    noise: int
    records: list[dict[str, Any]] = field(default_factory=list)

    def overall(self) -> dict[str, Any]:
        """Metrics over every question of the run."""
        return aggregate(self.records)

    def by_type(self) -> dict[str, dict[str, Any]]:
        """Metrics per question type, in the order types first appear."""
        types = dict.fromkeys(r["type"] for r in self.records)
        return {t: aggregate([r for r in self.records if r["type"] == t]) for t in types}

    def by_language(self) -> dict[str, dict[str, Any]]:
        """Metrics per question language."""
        langs = dict.fromkeys(r["language"] for r in self.records)
        return {lang: aggregate([r for r in self.records if r["language"] == lang]) for lang in langs}


def score_retrieval(search: SearchFn, question: Question, k: int = RETRIEVAL_K) -> dict[str, Any]:
    """Recall@1, recall@k and reciprocal rank of the gold passages for one question."""
    if not question.gold:
        return {}
    hits = search(question.question, k)
    texts = [h.passage.text for h in hits]
    return {
        "recall_at_1": recall_at_k(texts, question.gold, 1),
        "recall_at_5": recall_at_k(texts, question.gold, k),
        "rr": reciprocal_rank(texts, question.gold),
        "hit_ids": [h.passage.id for h in hits],
    }


def cited_texts(answer: Answer) -> dict[int, str]:
    """Marker -> text of the passage it points at.

    The Answer contract says markers point only at returned citations, so the citations are
    authoritative: a marker without one points at nothing (and the judge counts its sentence
    as unsupported) rather than being guessed from ``answer.passages``.
    """
    return {c.marker: c.text for c in answer.citations}


def score_answer(question: Question, answer: Answer, judge: GroundingJudge) -> dict[str, Any]:
    """Key facts, refusal and ALCE citation scores of one answer."""
    rec: dict[str, Any] = {"refused": answer.refused, "generator_used": answer.generator}
    if question.forbidden:
        rec["leaked"] = any(squash(f) in squash(answer.answer) for f in question.forbidden)
    if question.key_facts:
        all_found, share = key_fact_scores(answer.answer, question.key_facts)
        rec.update(facts_all=all_found, facts_share=share, facts_found=facts_found(answer.answer, question.key_facts))
    if not answer.refused:
        cs = judge.score_answer(answer.answer, cited_texts(answer))
        rec.update(citation_recall=cs.recall, citation_precision=cs.precision, sentences=cs.details)
        gold = [squash(g) for g in question.gold]
        rec["cites_gold"] = any(g in squash(c.text) for c in answer.citations for g in gold) if gold else None
    return rec


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The suite's metrics over a set of records (``None`` where a metric does not apply)."""
    answerable = [r for r in records if r["answerable"] and "error" not in r]
    unanswerable = [r for r in records if not r["answerable"] and "error" not in r]
    with_gold = [r for r in answerable if "rr" in r]
    answered = [r for r in records if "error" not in r and not r["refused"]]
    out: dict[str, Any] = {
        "n": len(records),
        "errors": sum("error" in r for r in records),
        "recall_at_1": mean(r["recall_at_1"] for r in with_gold),
        "recall_at_5": mean(r["recall_at_5"] for r in with_gold),
        "mrr": mean(r["rr"] for r in with_gold),
        # a question exported from the question log for review may have no key facts yet
        "key_fact_accuracy": mean(float(r["facts_all"]) for r in answerable if "facts_all" in r),
        "key_fact_partial": mean(r["facts_share"] for r in answerable if "facts_share" in r),
        "negative_rejection": mean(float(r["refused"]) for r in unanswerable),
        "false_refusal_rate": mean(float(r["refused"]) for r in answerable),
        "citation_recall": mean(r["citation_recall"] for r in answered if r.get("citation_recall") is not None),
        "citation_precision": mean(
            r["citation_precision"] for r in answered if r.get("citation_precision") is not None
        ),
        "cites_gold_rate": mean(float(r["cites_gold"]) for r in answerable if r.get("cites_gold") is not None),
        # answers that say what an injection asked for ("PWNED", a planted figure)
        "leak_rate": mean(float(r["leaked"]) for r in records if r.get("leaked") is not None),
    }
    out["latency_ms"] = {
        stage: {"p50": percentile(vals, 50), "p95": percentile(vals, 95)}
        for stage in STAGES
        if (vals := [r["timings"][stage] for r in records if stage in r.get("timings", {})])
    }
    return out


def run_questions(
    questions: Sequence[Question],
    *,
    ask: Callable[..., Answer],
    search: SearchFn,
    judge: GroundingJudge,
    generators: Sequence[str | None],
    noise_levels: Sequence[int] = (0,),
    progress: bool = True,
) -> list[Run]:
    """Ask every question with every generator at every noise level; return the scored runs.

    ``ask`` is ``Assistant.ask``, called as ``ask(question, generator=name, noise=n)``; the
    pipeline appends ``n`` random non-retrieved passages to the generator's context (seeded per
    question). ``noise`` is only passed when it is not 0.
    """
    retrieval = {q.id: score_retrieval(search, q) for q in questions}
    runs: list[Run] = []
    total = len(questions) * len(generators) * len(noise_levels)
    with tqdm(total=total, desc="eval", unit="q", disable=not progress) as bar:
        for gen in generators:
            for noise in noise_levels:
                run = Run(generator=gen or "default", noise=noise)
                for q in questions:
                    bar.set_postfix_str(f"{gen or 'default'} noise={noise} {q.id}")
                    run.records.append(_one(q, ask, judge, gen, noise, retrieval[q.id]))
                    bar.update()
                # name the run after the generator that answered ("local:qwen2.5-0.5b"), so runs
                # of two local models stay apart in the report
                used = {str(r["generator_used"]) for r in run.records if r.get("generator_used")}
                if len(used) == 1:
                    run.generator = used.pop()
                runs.append(run)
    return runs


def _one(
    q: Question,
    ask: Callable[..., Answer],
    judge: GroundingJudge,
    gen: str | None,
    noise: int,
    retrieval: dict[str, Any],
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": q.id, "type": q.type, "language": q.language, "answerable": q.answerable,
        "question": q.question, "noise": noise, **retrieval,
    }
    if q.review:
        rec["review"] = q.review
    kwargs: dict[str, Any] = {"generator": gen}
    if noise:
        kwargs["noise"] = noise
    started = time.perf_counter()
    try:
        answer = ask(q.question, **kwargs)
    except AssistantError as exc:
        # one failing question must not sink the run; it is counted under "errors"
        rec.update(error=f"{type(exc).__name__}: {exc}", wall_ms=(time.perf_counter() - started) * 1000)
        return rec
    rec.update(
        answer=answer.answer,
        timings=dict(answer.timings),
        citations=[c.passage_id for c in answer.citations],
        # what the generator saw (noise passages included), for diagnosing a failure
        context=[p.passage_id for p in answer.passages],
    )
    rec.update(score_answer(q, answer, judge))
    return rec


def noise_deltas(runs: Iterable[Run]) -> dict[str, dict[str, dict[str, float]]]:
    """generator -> "noise=N" -> metric -> (noisy − clean), for every metric both runs have."""
    clean = {r.generator: r.overall() for r in runs if r.noise == 0}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for run in runs:
        if run.noise == 0 or run.generator not in clean:
            continue
        noisy = run.overall()
        out.setdefault(run.generator, {})[f"noise={run.noise}"] = {
            m: noisy[m] - v
            for m, v in clean[run.generator].items()
            if isinstance(v, float) and isinstance(noisy.get(m), float)
        }
    return out
