"""What the API and the chat report about the running assistant (``/healthz``, ``/v1/models``,
passages by id), read from the :class:`~assistant.pipeline.Assistant`'s public attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.errors import AssistantError
from assistant.types import Passage

if TYPE_CHECKING:
    from assistant.pipeline import Assistant


def generator_names(assistant: Assistant) -> list[str]:
    """Names a caller may pass as ``generator`` (or as ``model``), the default first."""
    default = assistant.default_generator
    return sorted(assistant.factories, key=lambda name: (name != default, name))


def default_generator(assistant: Assistant) -> str:
    return assistant.default_generator


def generator_model(assistant: Assistant) -> str | None:
    """The default generator's own name (``local:qwen2.5-1.5b``); None if it cannot be built."""
    try:
        return assistant.generator().name
    except AssistantError:
        return None


def embedding_model(assistant: Assistant) -> str:
    embedder = assistant.embedder
    return embedder.model_id if embedder is not None else assistant.settings.embedding_model


def index_size(assistant: Assistant) -> int:
    """Number of passages in the index."""
    return len(assistant.retriever.passages)


def find_passage(assistant: Assistant, passage_id: str) -> Passage | None:
    # a linear scan: an index holds hundreds of passages, and this route is for occasional look-ups
    return next((p for p in assistant.retriever.passages if p.id == passage_id), None)
