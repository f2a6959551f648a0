"""The answer pipeline: the one :class:`Assistant` that the CLI, the API, the chat and the eval
runner all call.

``stream()`` runs the four steps (condense the follow-up, retrieve, prompt + generate, check
citations) and yields a :class:`SourcesEvent` first, :class:`TokenEvent` pieces of the draft as
they come, and a final :class:`AnswerEvent` with the checked answer. ``ask()`` consumes it.
:func:`build_assistant` builds the object graph once; tests construct the pieces directly.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from assistant.cite import REFUSALS, CheckedAnswer, CitationChecker, parse_markers
from assistant.condense import condense_rule, history_text, needs_context

from assistant.errors import InvalidInputError
from assistant.generate import GENERATORS, GenerationRequest, Generator, GeneratorFactory, resolve_generator_name
from assistant.language import Language, detect_language
from assistant.prompts import Prompt, load_prompt
from assistant.figures import states_asked_figure
from assistant.sentences import asks_for_figure, numbers, split_sentences
from assistant.settings import Settings
from assistant.types import Answer, AnswerEvent, Citation, Event, Hit, Passage, SourcesEvent, TokenEvent

if TYPE_CHECKING:  # the embedder package is only needed by whoever passes one in
    from assistant.embed import Embedder

log = logging.getLogger(__name__)

#: the answer prompt per question language (prompts/<name>.toml)
ANSWER_PROMPTS: dict[str, str] = {"zh": "answer_zh", "en": "answer_en"}
#: a condensed question longer than this is a model rambling, not a rewrite
_MAX_CONDENSED_CHARS = 300


class SearchBackend(Protocol):
    """What the pipeline needs from retrieval (:class:`assistant.retrieve.Retriever` fits)."""

    @property
    def passages(self) -> list[Passage]: ...

    def search(self, query: str, k: int | None = None) -> list[Hit]: ...


class Assistant:
    """Answers questions only from the indexed reports, citing checked passages.

    ``generators`` maps names to factories (default :data:`assistant.generate.GENERATORS`);
    each generator is built on first use and then reused (a local model loads once).
    ``embedder`` (optional) enables cross-lingual checks for English questions.
    """

    def __init__(
        self,
        settings: Settings,
        retriever: SearchBackend,
        generators: Mapping[str, GeneratorFactory] | None = None,
        *,
        embedder: Embedder | None = None,
        answer_prompts: Mapping[str, Prompt] | None = None,
        condense_prompt: Prompt | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.embedder = embedder
        self.factories: dict[str, GeneratorFactory] = dict(GENERATORS if generators is None else generators)
        self.answer_prompts: dict[str, Prompt] = dict(answer_prompts or {
            lang: load_prompt(name, settings.prompts_dir) for lang, name in ANSWER_PROMPTS.items()
        })
        self.condense_prompt = condense_prompt or load_prompt("condense", settings.prompts_dir)
        self.checker = CitationChecker(
            min_overlap=settings.cite_min_overlap,
            min_crosslingual=settings.cite_min_crosslingual,
            similarity=self._similarity if embedder is not None else None,
        )
        self._generators: dict[str, Generator] = {}
        self._rows: dict[str, int] | None = None  # passage id -> row of the index's vectors
        self._lock = threading.Lock()

    # ---- generators -----------------------------------------------------------------------

    @property
    def default_generator(self) -> str:
        """The generator used when a call names none (``'auto'`` resolved)."""
        return self._resolve(self.settings.generator)

    def _resolve(self, name: str) -> str:
        if name == "auto" and "local" in self.factories:
            return resolve_generator_name("auto", self.settings)
        if name == "auto":
            return "extractive"
        if name not in self.factories:
            from assistant.errors import UnknownNameError

            raise UnknownNameError("generator", name, ["auto", *self.factories])
        return name

    def generator(self, name: str | None = None) -> Generator:
        """The generator ``name`` (default: the configured one), built once and cached."""
        key = self._resolve(name or self.settings.generator)
        with self._lock:  # two first requests must not load the same model twice
            if key not in self._generators:
                self._generators[key] = self.factories[key](self.settings, self.embedder)
            return self._generators[key]

    # ---- validation -----------------------------------------------------------------------

    def _check_question(self, question: object) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidInputError("the question is empty; ask something about the reports")
        text = question.strip()
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise InvalidInputError(f"the question is {len(text)} characters long; the limit is {limit} characters")
        return text

    def _check_k(self, k: object) -> int:
        k = self.settings.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise InvalidInputError(f"k must be a whole number from 1 to {self.settings.max_k}, got {k!r}")
        return k

    # ---- public API -----------------------------------------------------------------------

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query`` (validated like a question)."""
        return self.retriever.search(self._check_question(query), self._check_k(k))

    def ask(self, question: str, **kwargs: Any) -> Answer:
        """The checked answer to ``question``; same keywords as :meth:`stream`."""
        answer: Answer | None = None
        for event in self.stream(question, **kwargs):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        assert answer is not None  # stream always ends with an AnswerEvent
        return answer

    def stream(
        self,
        question: str,
        *,
        generator: str | None = None,
        k: int | None = None,
        history: list[dict[str, str]] | None = None,
        noise: int = 0,
    ) -> Iterator[Event]:
        """Answer ``question`` step by step.

        Yields one :class:`SourcesEvent` (the hits and the standalone query used), then
        :class:`TokenEvent` pieces of the unchecked draft, then one :class:`AnswerEvent`.
        ``history`` is the conversation so far as OpenAI-style ``{"role", "content"}`` messages;
        a follow-up question is rewritten with it before retrieval. ``noise`` appends that many
        random non-retrieved passages to the context (noise-robustness evals; seeded).
        Raises :class:`InvalidInputError` for a bad question, ``k`` or ``noise`` (and
        :class:`UnknownNameError` for an unknown generator) when called, before the first event,
        so a server can answer 422 instead of opening a stream.
        """
        t0 = time.perf_counter()
        question = self._check_question(question)
        k = self._check_k(k)
        if isinstance(noise, bool) or not isinstance(noise, int) or not 0 <= noise <= self.settings.max_k:
            raise InvalidInputError(f"noise must be a whole number from 0 to {self.settings.max_k}, got {noise!r}")
        gen = self.generator(generator)
        return self._run(t0, question, gen, k, history or [], noise)

    def _run(self, t0: float, question: str, gen: Generator, k: int, history: list[dict[str, str]],
             noise: int) -> Iterator[Event]:
        language = detect_language(question)
        timings: dict[str, float] = {}

        query = self.condense(question, history, gen)
        timings["condense_ms"] = _ms(t0)
        t = time.perf_counter()
        hits = self.retriever.search(query, k)
        timings["retrieve_ms"] = _ms(t)
        yield SourcesEvent(hits=hits, query=query)

        # the extractive backend reads no prompt, so only LLM answers name one
        prompt_info = self.answer_prompts[language].info() if gen.uses_llm else {}
        base: dict[str, Any] = dict(question=question, generator=gen.name, language=language, prompt=prompt_info)
        top = max((h.scores.get("dense", h.score) for h in hits), default=float("-inf"))
        floor = self.settings.min_relevance if language == "zh" else self.settings.min_relevance_crosslingual
        if top < floor:
            log.info("refusing: top dense cosine %.3f < %.3f", top, floor)
            timings["total_ms"] = _ms(t0)
            yield AnswerEvent(self._refusal(base, timings, hits, draft=""))
            return

        context = hits[: self.settings.context_passages] if gen.uses_llm else list(hits)
        passages = [h.passage for h in context] + self._noise(query, hits, noise)
        request = self._request(question, passages, language)

        t = time.perf_counter()
        pieces: list[str] = []
        for piece in gen.stream(request):
            if not pieces:
                timings["first_token_ms"] = _ms(t0)
            pieces.append(piece)
            yield TokenEvent(piece)
        timings["generate_ms"] = _ms(t)
        draft = "".join(pieces)

        t = time.perf_counter()
        checked = self.checker.check(draft, passages, language)
        timings["check_ms"] = _ms(t)
        timings["total_ms"] = _ms(t0)
        scores = {h.passage.id: float(h.score) for h in hits}
        passage_dicts = [_passage_dict(p, scores.get(p.id, 0.0)) for p in passages]
        if checked.empty or not self._states_asked_figure(question, language, checked, passages):
            yield AnswerEvent(self._refusal(base, timings, passage_dicts, draft=draft, dropped=checked.dropped))
            return
        yield AnswerEvent(
            Answer(
                **base,
                answer=checked.text,
                refused=False,
                citations=_citations(checked, passages, scores),
                timings=timings,
                passages=passage_dicts,
                dropped=checked.dropped,
                draft=draft,
            )
        )

    # ---- steps ----------------------------------------------------------------------------

    def condense(self, question: str, history: list[dict[str, str]], gen: Generator | None = None) -> str:
        """A standalone version of ``question`` given ``history``.

        Only a question that looks context-dependent is rewritten
        (:func:`assistant.condense.needs_context`). With an LLM generator the model rewrites it
        (prompt ``condense``); otherwise, or when the model's output is unusable, a deterministic rule merges an elliptic follow-up with
        the previous user question (:func:`assistant.condense.condense_rule`).
        """
        if not any(m.get("role") == "user" for m in history) or not needs_context(question):
            return question
        if gen is not None and gen.uses_llm:
            messages = self.condense_prompt.render(history=history_text(history), question=question)
            request = GenerationRequest(messages=messages, question=question, passages=[], max_tokens=96, temperature=0.0)
            try:
                rewritten = gen.generate(request).strip().splitlines()
            except Exception as exc:  # a failed rewrite must not fail the answer
                log.warning("condensing with %s failed (%s); using the rule", gen.name, exc)
                rewritten = []
            if rewritten and 0 < len(rewritten[0].strip()) <= _MAX_CONDENSED_CHARS:
                return rewritten[0].strip()
        return condense_rule(question, history)

    def _request(self, question: str, passages: list[Passage], language: Language) -> GenerationRequest:
        blocks = "\n".join(f"<passage id={i}>\n{_with_section(p)}\n</passage>" for i, p in enumerate(passages, start=1))
        messages = self.answer_prompts[language].render(question=question, passages=blocks, refusal=REFUSALS[language])
        return GenerationRequest(
            messages=messages,
            question=question,
            passages=passages,
            language=language,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
        )

    @staticmethod
    def _states_asked_figure(question: str, language: Language, checked: CheckedAnswer, passages: list[Passage]) -> bool:
        """For a question asking for a figure: does the checked answer state one, and (Chinese)
        does the figure stand in a cited passage clause about what was asked?

        Catches "用了 个量子比特[1]" (a restated question around a missing figure) and
        "共有11家国家新兴产业创新中心[1]" for "多少个国家实验室" (a true figure about
        something else), which the sentence-level check cannot see.
        """
        if not asks_for_figure(question):
            return True
        stated = numbers(parse_markers(checked.text)[0]) - numbers(question)
        if not stated or language == "en":
            return bool(stated)
        return any(
            states_asked_figure(question, sentence, figures=stated)
            for i in checked.cited
            for sentence in split_sentences(passages[i].text)
        )

    def _noise(self, query: str, hits: list[Hit], n: int) -> list[Passage]:
        if n <= 0:
            return []
        retrieved = {h.passage.id for h in hits}
        pool = [p for p in self.retriever.passages if p.id not in retrieved]
        # seeded per question: reruns give the same noise, different questions different noise
        rng = random.Random(f"{self.settings.noise_seed}:{query}")
        return rng.sample(pool, min(n, len(pool)))

    def _similarity(self, claim: str, passages: list[Passage]) -> list[float]:
        """Cosine of an (English) claim to each passage, reusing the index's passage vectors."""
        assert self.embedder is not None
        q = self.embedder.embed_queries([claim])[0]
        vectors = getattr(getattr(self.retriever, "index", None), "vectors", None)
        if self._rows is None:
            self._rows = {p.id: i for i, p in enumerate(self.retriever.passages)} if vectors is not None else {}
        if vectors is not None and all(p.id in self._rows for p in passages):
            vecs = np.asarray(vectors)[[self._rows[p.id] for p in passages]]
        else:
            vecs = self.embedder.embed_passages([p.text for p in passages])
        return [float(x) for x in np.asarray(vecs @ q)]

    @staticmethod
    def _refusal(base: dict[str, Any], timings: dict[str, float], hits_or_passages: list[Any],
                 draft: str, dropped: list[str] | None = None) -> Answer:
        passages = [h.to_dict() if isinstance(h, Hit) else h for h in hits_or_passages]
        return Answer(
            **base,
            answer=REFUSALS[base["language"]],
            refused=True,
            citations=[],
            timings=timings,
            passages=passages,
            dropped=dropped or [],
            draft=draft,
        )


def _with_section(p: Passage) -> str:
    """The passage text, headed by its section unless the text already starts with it
    (report items carry their headings; repeating them costs prompt tokens on a slow CPU)."""
    last = p.section.split("›")[-1].strip()
    return p.text if not last or last[:8] in p.text[:200] else f"{p.section}\n{p.text}"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _passage_dict(p: Passage, score: float) -> dict[str, Any]:
    return {"passage_id": p.id, "section": p.section, "source": p.source, "text": p.text, "score": round(score, 6)}


def _citations(checked: CheckedAnswer, passages: list[Passage], scores: dict[str, float]) -> list[Citation]:
    out = []
    for marker, idx in enumerate(checked.cited, start=1):
        p = passages[idx]
        out.append(
            Citation(
                marker=marker,
                passage_id=p.id,
                section=p.section,
                source=p.source,
                text=p.text,
                score=round(scores.get(p.id, 0.0), 6),
                sentences=checked.sentences.get(idx, []),
            )
        )
    return out


def build_assistant(settings: Settings | None = None, *, progress: bool = False, load_generator: bool = False) -> Assistant:
    """Build the assistant once: settings, embedder, index (built if missing), retriever.

    Generators are built lazily on first use; ``load_generator=True`` builds the default one
    now (a server does this at start-up so the first request does not pay the model load).
    """
    from assistant.search_service import open_retriever

    settings = settings or Settings()
    retriever = open_retriever(settings, build_if_missing=True, progress=progress)
    assistant = Assistant(settings, retriever, embedder=retriever.embedder)
    if load_generator:
        assistant.generator()
    return assistant
