"""Rewriting a follow-up question into a standalone one before retrieval, and putting a question
into the reports' language for the search when the two differ.

Only a question that looks context-dependent is rewritten (:func:`needs_context`): with an LLM
generator the model rewrites it (prompt ``condense``); otherwise, or when the model's output is
unusable, a deterministic rule does (:func:`condense_rule`).

The rule: "那农业方面呢？" after "报告对工业方面提出了哪些举措？" should retrieve as
"报告对农业方面提出了哪些举措？". The rule: a short question that opens with a connective
("那", "还有", "what about") or ends with an elliptic particle ("呢") is a follow-up; its core
topic replaces the previous question's topic word (the one sharing a character with the core,
e.g. 工业/农业, or for English the last topic word); with no such word, the core is prefixed to
the previous question. Any other question is already standalone.

Across languages (an English question over Chinese reports) the embedder matches a term poorly
("tidal power station" / 潮汐电站); an LLM generator knows it, so with one the question
is translated for the search (prompt ``translate``) and the answer is still written in the
question's language. Without an LLM, or when the model's output is not in the reports' language,
the search uses the question as asked.
"""

from __future__ import annotations

import logging
import re

from assistant.answer.generate import GenerationRequest, Generator
from assistant.answer.generate.usage import UsageMeter
from assistant.answer.prompts import Prompt
from assistant.text.cjk import content_chars
from assistant.text.language import Language, detect_language
from assistant.text.words import keywords

log = logging.getLogger(__name__)

_LEAD = re.compile(
    r"^\s*(?:那么|那|还有|另外|此外|而|and\s+what\s+about|what\s+about|how\s+about|and)\s*[,，]?\s*", re.I
)
_TAIL = re.compile(r"(?:方面|领域|这块|的情况|情况)?\s*(?:呢|吗|怎么样|如何|又如何)?\s*[?？。.!！]*\s*$")
#: follow-ups are short; a longer question is read as standalone even if it opens with "那"
_MAX_FOLLOWUP_CHARS = 16
_MAX_FOLLOWUP_WORDS = 6


def last_user_question(history: list[dict[str, str]]) -> str | None:
    """The most recent user message of ``history``."""
    for message in reversed(history):
        if message.get("role") == "user" and str(message.get("content", "")).strip():
            return str(message["content"]).strip()
    return None


def history_text(history: list[dict[str, str]], max_messages: int = 6, max_chars: int = 300) -> str:
    """The last few messages as ``role: content`` lines for the condense prompt, each cut to its
    first ``max_chars`` characters: rewriting a follow-up needs the topic, not whole answers, and
    every character is prompt time on a CPU (a 9 KB history once took 45 s to condense)."""
    lines = []
    for m in history[-max_messages:]:
        content = " ".join(str(m.get("content", "")).split())
        lines.append(f"{m.get('role', 'user')}: {content[:max_chars]}{'…' if len(content) > max_chars else ''}")
    return "\n".join(lines)


def is_followup(question: str) -> bool:
    """Whether ``question`` looks elliptic: short, and opening with a connective or ending in 呢."""
    if detect_language(question) == "en":
        if len(question.split()) > _MAX_FOLLOWUP_WORDS:
            return False
    elif content_chars(question) > _MAX_FOLLOWUP_CHARS:
        return False
    return bool(_LEAD.match(question)) or bool(re.search(r"呢\s*[?？]?\s*$", question))


_REFERENCE = re.compile(r"它|其|这些|这个|这项|该|上述|此|\b(?:it|its|they|their|this|that|these|those)\b", re.I)
#: a question this short that points back ("它的规模呢") needs the conversation
_MAX_REFERRING_CHARS = 30


def needs_context(question: str) -> bool:
    """Whether ``question`` may depend on the conversation (a follow-up or a back-reference).

    Standalone questions skip the rewrite entirely: with a local model a rewrite costs a
    second generation, seconds on a CPU.
    """
    return is_followup(question) or (
        content_chars(question) <= _MAX_REFERRING_CHARS and bool(_REFERENCE.search(question))
    )


def core_topic(question: str) -> str:
    """``'那农业方面呢？'`` -> ``'农业'``: the follow-up without connective and particles."""
    return _TAIL.sub("", _LEAD.sub("", question)).strip()


def condense_rule(question: str, history: list[dict[str, str]]) -> str:
    """A standalone question for retrieval (``question`` itself when it is not a follow-up)."""
    previous = last_user_question(history)
    if previous is None or previous == question or not is_followup(question):
        return question
    core = core_topic(question)
    if not core:
        return previous
    topics = [w for w in keywords(previous) if not w.isdigit()]
    if detect_language(previous) == "en":
        target = topics[-1] if topics else None
        if target:
            return re.sub(rf"\b{re.escape(target)}\b", core, previous, count=1, flags=re.I)
        return f"{core}: {previous}"
    # the longest topic word sharing a character with the core is the one being swapped
    sharing = sorted((w for w in topics if set(w) & set(core)), key=len, reverse=True)
    if sharing:
        return previous.replace(sharing[0], core, 1)
    return f"关于{core}，{previous}"


#: a condensed question longer than this is a model rambling, not a rewrite
_MAX_CONDENSED_CHARS = 300


#: how the translate prompt names each language
_LANGUAGE_NAMES: dict[str, str] = {"zh": "Chinese (简体中文)", "en": "English"}


class Condenser:
    """Rewrites follow-ups with an LLM generator (prompt ``condense``), else with the rule; with
    ``translate``, puts a question into the reports' language for the search."""

    def __init__(self, prompt: Prompt, translate: Prompt | None = None) -> None:
        self.prompt = prompt
        self.translate = translate

    def for_search(self, query: str, reports: Language | None, generator: Generator | None = None,
                   usage: UsageMeter | None = None) -> str | None:
        """``query`` in the reports' language ``reports``, translated by an LLM generator, when it is
        asked in another; None when it is not translated (same language, no LLM, unusable output)."""
        if self.translate is None or reports is None or generator is None or not generator.uses_llm:
            return None
        if detect_language(query) == reports:
            return None
        messages = self.translate.render(language=_LANGUAGE_NAMES[reports], question=query)
        first = _first_line(generator, messages, query, 64, usage, "translating the question", "searching it as asked")
        text = first.strip("<>") if first is not None else ""
        return text if text and detect_language(text) == reports else None

    def condense(self, question: str, history: list[dict[str, str]], generator: Generator | None = None,
                 usage: UsageMeter | None = None) -> str:
        """A standalone version of ``question`` given ``history`` (``question`` itself when standalone);
        the tokens a rewrite by the model takes are added to ``usage``."""
        if not any(m.get("role") == "user" for m in history) or not needs_context(question):
            return question
        if generator is not None and generator.uses_llm:
            rewritten = self._rewrite(question, history, generator, usage)
            if rewritten:
                return rewritten
        return condense_rule(question, history)

    def _rewrite(self, question: str, history: list[dict[str, str]], generator: Generator,
                 usage: UsageMeter | None) -> str | None:
        messages = self.prompt.render(history=history_text(history), question=question)
        return _first_line(generator, messages, question, 96, usage, "condensing", "using the rule")


def _first_line(generator: Generator, messages: list[dict[str, str]], question: str, max_tokens: int,
                usage: UsageMeter | None, doing: str, instead: str) -> str | None:
    """The first line the model writes for ``messages`` (greedy), if it is a question's length; None
    when it writes nothing usable or fails (a failed rewrite must not fail the answer: the caller
    goes on with the question as it has it)."""
    request = GenerationRequest(messages=messages, question=question, passages=[], max_tokens=max_tokens,
                                temperature=0.0, usage=usage)
    try:
        lines = generator.generate(request).strip().splitlines()
    except Exception as exc:
        log.warning("%s with %s failed (%s); %s", doing, generator.name, exc, instead)
        return None
    first = lines[0].strip() if lines else ""
    return first if 0 < len(first) <= _MAX_CONDENSED_CHARS else None
