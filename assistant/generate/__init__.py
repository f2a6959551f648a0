"""Generators: turn a request (chat messages plus the numbered passages) into streamed text.

A backend implements one method, :meth:`Generator.stream`; :meth:`Generator.generate` joins it.
Backends are built through :data:`GENERATORS`, a plain dict from a name to a factory taking the
settings. Heavy imports (llama_cpp, openai) live inside the backend modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.errors import UnknownNameError
from assistant.language import Language
from assistant.types import Passage

if TYPE_CHECKING:
    from assistant.embed import Embedder
    from assistant.settings import Settings


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a generator may use. LLM backends read ``messages``; the extractive backend
    reads ``question`` and ``passages`` (passage ``i`` is cited as ``[i+1]``)."""

    messages: list[dict[str, str]]
    question: str
    passages: list[Passage]
    language: Language = "zh"
    max_tokens: int = 384
    temperature: float = 0.1
    stop: list[str] = field(default_factory=list)


class Generator(ABC):
    """A backend that streams an answer draft."""

    #: reported in ``Answer.generator``, e.g. ``'local:qwen2.5-1.5b'``
    name: str = "generator"
    #: whether the backend is a language model (it then gets the prompt and a few passages)
    uses_llm: bool = True

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield pieces of the draft as they are produced."""

    def generate(self, request: GenerationRequest) -> str:
        """The whole draft at once."""
        return "".join(self.stream(request))


#: a factory builds a generator from the settings and, when one is loaded, the embedder
#: (the extractive backend uses it for English questions; the others ignore it)
GeneratorFactory = Callable[["Settings", "Embedder | None"], Generator]


def _local(settings: "Settings", embedder: "Embedder | None" = None) -> Generator:
    from assistant.generate.local import LocalGenerator

    return LocalGenerator.from_settings(settings)


def _openai(settings: "Settings", embedder: "Embedder | None" = None) -> Generator:
    from assistant.generate.openai import OpenAIGenerator

    return OpenAIGenerator.from_settings(settings)


def _extractive(settings: "Settings", embedder: "Embedder | None" = None) -> Generator:
    from assistant.generate.extractive import ExtractiveGenerator

    return ExtractiveGenerator(embedder)


#: generator name -> factory; tests and plugins may register more
GENERATORS: dict[str, GeneratorFactory] = {
    "local": _local,
    "openai": _openai,
    "extractive": _extractive,
}


def resolve_generator_name(name: str, settings: "Settings") -> str:
    """Map a requested name (or ``'auto'``) to a registered one.

    ``'auto'`` is ``local`` when its model file is present, else ``extractive``.
    """
    if name == "auto":
        from assistant.models import resolve_local_model

        try:
            present = resolve_local_model(settings.local_model, settings.models_dir).is_file()
        except UnknownNameError:
            present = False
        return "local" if present else "extractive"
    if name not in GENERATORS:
        raise UnknownNameError("generator", name, ["auto", *GENERATORS])
    return name


def create_generator(name: str, settings: "Settings", embedder: "Embedder | None" = None) -> Generator:
    """Build the generator ``name`` (``'auto'`` allowed) from ``settings``."""
    return GENERATORS[resolve_generator_name(name, settings)](settings, embedder)


__all__ = ["GENERATORS", "GenerationRequest", "Generator", "create_generator", "resolve_generator_name"]
