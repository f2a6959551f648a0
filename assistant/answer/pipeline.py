"""The answer pipeline: the one :class:`Assistant` that the CLI, the API, the chat and the eval
runner all call.

``stream()`` runs the four steps — retrieve (after condensing a follow-up), prompt, generate,
check — and yields a :class:`SourcesEvent` first, :class:`TokenEvent` pieces of the draft as they
come, and a final :class:`AnswerEvent` with the checked answer. ``ask()`` consumes it. Each step's
rules live in its own module (``retrieve``, ``prompts``, ``generate``, ``cite``); this one only
runs them in order. :func:`assistant.assemble.build_assistant` builds the object graph once.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from assistant.answer.adequacy import Judge
from assistant.answer.cite import CitationChecker
from assistant.answer.condense import Condenser
from assistant.answer.evidence import gather, noise_passages
from assistant.answer.generate import GenerationRequest, Generator, GeneratorPool, Lease
from assistant.answer.generate.cancel import Cancellation
from assistant.answer.generate.usage import UsageMeter
from assistant.answer.grammar import answer_grammar
from assistant.answer.live import Snapshot
from assistant.answer.prompts import AnswerPrompts
from assistant.answer.refusal import REFUSALS, too_weak, top_cosine
from assistant.core.inputs import check_count, check_k, check_question
from assistant.core.settings import Settings
from assistant.core.types import Answer, AnswerEvent, AnswerMeta, Event, Hit, Passage, Source, SourcesEvent, TokenEvent
from assistant.text.language import detect_language
from assistant.text.questions import split_parts


class SnapshotSource(Protocol):
    """Where each ask gets the index build it reads (:class:`~assistant.answer.live.Snapshot` is
    its own source; :class:`~assistant.answer.live.LiveIndex` follows the live build)."""

    def snapshot(self) -> Snapshot: ...


@dataclass(frozen=True)
class AssistantInfo:
    """What the assistant runs, for ``/healthz``, ``/v1/models`` and the chat's generator menu."""

    index_size: int
    embedding_model: str
    default_generator: str
    #: the default generator as it names itself in answers (``local:qwen2.5-1.5b``); None if it cannot load
    generator_model: str | None
    generators: list[str]


class Assistant:
    """Answers questions only from the indexed reports, citing checked passages."""

    def __init__(self, settings: Settings, source: SnapshotSource, generators: GeneratorPool, *,
                 prompts: AnswerPrompts, condenser: Condenser, checker: CitationChecker,
                 embedding_model: str) -> None:
        self.settings = settings
        self.source = source
        self.generators = generators
        self.prompts = prompts
        self.condenser = condenser
        self.checker = checker
        self.embedding_model = embedding_model

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query`` (validated like a question)."""
        s = self.settings
        return self.source.snapshot().retriever.search(check_question(query, s.max_question_chars),
                                                       check_k(k, s.k, s.max_k))

    def ask(self, question: str, *, generator: str | None = None, k: int | None = None,
            history: list[dict[str, str]] | None = None, noise: int = 0, cancel: Cancellation | None = None) -> Answer:
        """The checked answer to ``question``; the keywords are those of :meth:`stream`."""
        for event in self.stream(question, generator=generator, k=k, history=history, noise=noise, cancel=cancel):
            if isinstance(event, AnswerEvent):
                return event.answer
        raise AssertionError("stream() always ends with an AnswerEvent")

    def stream(self, question: str, *, generator: str | None = None, k: int | None = None,
               history: list[dict[str, str]] | None = None, noise: int = 0,
               cancel: Cancellation | None = None) -> Iterator[Event]:
        """Answer ``question`` step by step (events as described in the module docstring).

        ``history`` is the conversation so far as OpenAI-style ``{"role", "content"}`` messages; a
        follow-up is rewritten with it before retrieval. ``noise`` appends that many random
        non-retrieved passages to the context (noise-robustness evals; seeded). Bad input raises
        :class:`InvalidInputError` (an unknown generator :class:`UnknownNameError`) on the call,
        before the first event, so a server can answer 422 instead of opening a stream; so do a
        generator the server does not allow (403), a full model queue (429) and a model still
        loading (503). ``cancel``, once set, stops the work at its next check with its error.
        """
        started = time.perf_counter()
        s = self.settings
        question = check_question(question, s.max_question_chars)
        k = check_k(k, s.k, s.max_k)
        noise = check_count("noise", noise, 0, s.max_k)
        lease = self.generators.acquire(generator, cancel)
        events = _releasing(self._run(started, question, lease, k, history or [], noise), lease)
        # a stream dropped before its first step never runs its ``finally``: free the place then too
        weakref.finalize(events, lease.release)
        return events

    def _run(self, t0: float, question: str, gen: Generator, k: int, history: list[dict[str, str]],
             noise: int) -> Iterator[Event]:
        s, timings, usage = self.settings, dict[str, float](), UsageMeter()
        language = detect_language(question)
        meta = AnswerMeta(question=question, generator=gen.name, language=language,
                          prompt=self.prompts.info(language) if gen.uses_llm else {})
        query = self.condenser.condense(question, history, gen, usage)
        timings["condense_ms"] = _ms(t0)
        snap = self.source.snapshot()  # one index build from here to the answer
        # a question in another language than the reports' is searched for in theirs (by the LLM's translation)
        asked, translated = query, self.condenser.for_search(query, snap.language, gen, usage)
        if translated is not None:
            timings["translate_ms"] = round(_ms(t0) - timings["condense_ms"], 1)
            query = translated
        t = time.perf_counter()
        hits = snap.retriever.search(query, k)  # 1. retrieve
        timings["retrieve_ms"] = _ms(t)
        yield SourcesEvent(hits=hits, query=query)
        if too_weak(top_cosine(hits), language, floor=s.min_relevance, floor_crosslingual=s.min_relevance_crosslingual):
            timings["total_ms"] = _ms(t0)
            yield AnswerEvent(Answer.refusal(meta, REFUSALS[language], timings=timings,
                                             passages=[h.to_source() for h in hits], usage=usage.usage()))
            return
        parts = split_parts(asked)  # what the answer must address, in the question's language
        noisy = noise_passages(snap.passages, query, hits, noise, s.noise_seed)
        t = time.perf_counter()
        searched = parts if translated is None else split_parts(query)
        evidence, passages = gather(snap.retriever.search, snap.sentences, s, searched, hits, noisy,
                                    for_llm=gen.uses_llm)
        timings["evidence_ms"] = _ms(t)
        grammar = answer_grammar(REFUSALS.values(), len(evidence), min_sentences=len(parts)) if s.llm_grammar else None
        request = GenerationRequest(  # 2. prompt
            messages=self.prompts.messages(parts if len(parts) > 1 else question, evidence, language),
            question=question, passages=passages, language=language, max_tokens=s.max_tokens,
            temperature=s.temperature, evidence=evidence, parts=parts, grammar=grammar, usage=usage)
        t, pieces = time.perf_counter(), []
        for piece in gen.stream(request):  # 3. generate
            timings.setdefault("first_token_ms", _ms(t0))
            pieces.append(piece)
            yield TokenEvent(piece)
        timings["generate_ms"], draft = _ms(t), "".join(pieces)
        t = time.perf_counter()
        checked = self.checker.using(snap.sentences.sentence_similarity).check(draft, evidence, language)  # 4. check
        judge = Judge.from_settings(s, snap.sentences.clause_cosines)
        verdict = judge.verdict(question if len(parts) == 1 else parts, language, checked, evidence)
        timings["check_ms"], timings["total_ms"] = _ms(t), _ms(t0)
        scores = {h.passage.id: h.score for h in hits}
        sources = [Source.of(p, scores.get(p.id, 0.0)) for p in passages]
        if verdict.refused:
            yield AnswerEvent(Answer.refusal(meta, REFUSALS[language], timings=timings, passages=sources,
                                             draft=draft, dropped=checked.dropped, usage=usage.usage()))
            return
        yield AnswerEvent(Answer.grounded(meta, verdict.text, checked.citations(evidence, scores),
                                          support=checked.support(), timings=timings, passages=sources,
                                          draft=draft, dropped=checked.dropped, usage=usage.usage()))

    def info(self) -> AssistantInfo:
        """What this assistant runs (nothing is loaded to find out)."""
        return AssistantInfo(index_size=len(self.passages), embedding_model=self.embedding_model,
                             default_generator=self.generators.default,
                             generator_model=self.generators.describe(), generators=self.generators.names())

    @property
    def index_build(self) -> str:
        """The live index build's id (what the question log records)."""
        return self.source.snapshot().index.build_id

    @property
    def passages(self) -> list[Passage]:
        """The passages of the live index build."""
        return self.source.snapshot().passages

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, if the index holds it."""
        # a linear scan: an index holds hundreds of passages, and this is for occasional look-ups
        return next((p for p in self.passages if p.id == passage_id), None)


def _releasing(events: Iterator[Event], lease: Lease) -> Iterator[Event]:
    try:
        yield from events
    finally:
        lease.release()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
