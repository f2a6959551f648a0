"""Mapping between OpenAI chat-completion JSON and the assistant's questions and answers.

Streaming choice: OpenAI clients concatenate every ``delta.content`` into the final message, and
a draft's sentences may later be dropped or re-cited by the citation check. So chat completions
stream the *checked* answer, in sentence pieces, once checking is done; draft tokens as they are
generated are available from ``POST /v1/ask`` with ``"stream": true``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from assistant.api.schemas import ChatMessage
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings
from assistant.core.types import Answer
from assistant.text.sentences import split_lossless

#: the model name meaning "whatever generator the server uses by default"
DEFAULT_MODEL = "report-assistant"


def generator_for_model(model: str) -> str | None:
    """``report-assistant`` -> ``None`` (the server default); any other name is a generator name
    (checked against the server's allowed generators when the request is admitted: 403)."""
    return None if model == DEFAULT_MODEL else model


def collection_and_generator(model: str) -> tuple[str | None, str | None]:
    """``report-assistant/NAME`` -> (NAME, None): that collection, the server's generator; any other
    model -> (None, :func:`generator_for_model`): the collection ``default``."""
    prefix = DEFAULT_MODEL + "/"
    if model.startswith(prefix):
        return model[len(prefix):], None
    return None, generator_for_model(model)


def collection_model(name: str) -> str:
    """The model name of collection ``name`` in ``GET /v1/models``."""
    return f"{DEFAULT_MODEL}/{name}"


def split_messages(messages: list[ChatMessage], settings: Settings) -> tuple[str, list[dict[str, str]]]:
    """The last user message is the question; earlier user/assistant turns are the history,
    bounded like ``/v1/ask``'s (``max_history_turns`` messages, ``max_history_chars`` characters).

    System messages are ignored on purpose: the answer's rules (only from the reports, cited)
    are the server's prompt and cannot be replaced by a caller.
    """
    last = messages[-1]
    question = last.text()
    if last.role != "user" or not question.strip():
        raise InvalidInputError("the last message must be a non-empty 'user' message (the question)")
    limit = settings.max_question_chars
    if len(question) > limit:
        raise InvalidInputError(f"the question is {len(question)} characters; the limit is {limit}")
    history = [{"role": m.role, "content": m.text()} for m in messages[:-1] if m.role in ("user", "assistant")]
    if len(history) > settings.max_history_turns:
        raise InvalidInputError(
            f"the conversation has {len(history)} earlier messages; the limit is {settings.max_history_turns}"
        )
    chars = sum(len(m["content"]) for m in history)
    if chars > settings.max_history_chars:
        raise InvalidInputError(
            f"the earlier messages hold {chars} characters; the limit is {settings.max_history_chars}"
        )
    return question, history


def pieces(text: str) -> list[str]:
    """Sentence-sized pieces whose concatenation is exactly ``text``."""
    return split_lossless(text)


def extras(answer: Answer) -> dict[str, Any]:
    """The non-OpenAI fields carrying the citations and the answer's id for feedback
    (``completion.model_extra`` in the client)."""
    data = answer.to_json()
    return {"citations": data["citations"], "refused": data["refused"], "generator": data["generator"],
            "answer_id": data["answer_id"]}


def usage(answer: Answer) -> dict[str, int]:
    """OpenAI's ``usage`` of an answer: ``prompt_tokens``, ``completion_tokens``, ``total_tokens``."""
    if answer.usage is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return answer.usage.openai()


@dataclass
class Completion:
    """Identity shared by every chunk of one completion."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    #: streaming with ``stream_options.include_usage``: every chunk has ``usage`` (null but in the last one)
    include_usage: bool = False

    def message(self, answer: Answer) -> dict[str, Any]:
        """A whole ``chat.completion`` object."""
        choice = {"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}
        return {**self._head("chat.completion"), "choices": [choice], "usage": usage(answer), **extras(answer)}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        """One ``chat.completion.chunk``."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        counts = {"usage": None} if self.include_usage else {}
        return {**self._head("chat.completion.chunk"), "choices": [choice], **counts, **extra}

    def usage_chunk(self, answer: Answer) -> dict[str, Any]:
        """The chunk OpenAI sends last with ``include_usage``: no choices, the whole request's ``usage``."""
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": usage(answer)}

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}
