"""Validation of what callers pass in (questions, ``k``, counts): one rule each, one message each.

The CLI, the API and the pipeline all validate through these, so a bad value gets the same
message (and, through :class:`~assistant.core.errors.InvalidInputError`, exit code 2 / HTTP 422) everywhere.
"""

from __future__ import annotations

from assistant.core.errors import InvalidInputError


def check_question(question: object, limit: int) -> str:
    """The question stripped; empty, non-text or longer than ``limit`` characters is an error."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidInputError("the question is empty; ask something about the reports")
    text = question.strip()
    if len(text) > limit:
        raise InvalidInputError(f"the question is {len(text)} characters long; the limit is {limit} characters")
    return text


def check_count(name: str, value: object, low: int, high: int) -> int:
    """A whole number within ``low..high`` (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def check_k(k: object, default: int, max_k: int) -> int:
    """``k`` (passages to retrieve), ``default`` when None."""
    return check_count("k", default if k is None else k, 1, max_k)
