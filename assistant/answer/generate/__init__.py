"""Generators: turn a request (chat messages plus the numbered passages) into streamed text.

A backend implements one method, :meth:`Generator.stream`; :meth:`Generator.generate` joins it.
Backends are registered in :data:`GENERATORS`, a plain dict from a name to a factory; that dict is
the one list of generator names (settings, CLI choices and API docs derive theirs from it).
:class:`GeneratorPool` (``generate/pool.py``) resolves a requested name, builds and loads each
generator once and admits requests to the language models. Heavy imports
(llama_cpp, openai) live inside the backend modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.answer.evidence import Evidence
from assistant.answer.generate.cancel import Cancellation
from assistant.answer.generate.usage import UsageMeter
from assistant.core.types import Passage
from assistant.text.language import Language

if TYPE_CHECKING:
    from assistant.core.settings import Settings
    from assistant.embed import Embedder

#: the name that means "local when its model file is present, else extractive"
AUTO = "auto"


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a generator may use. LLM backends read ``messages``; the extractive backend
    reads ``question``, ``parts`` and ``evidence``. In every draft ``[i]`` cites ``evidence[i-1]``;
    ``passages`` are the context passages the evidence was chosen from."""

    messages: list[dict[str, str]]
    question: str
    passages: list[Passage]
    language: Language = "zh"
    max_tokens: int = 384
    temperature: float = 0.1
    stop: list[str] = field(default_factory=list)
    #: set when the caller gives up; a backend stops at its next check and raises its error
    cancel: Cancellation | None = None
    evidence: list[Evidence] = field(default_factory=list)
    #: a two-part question's parts (each standalone); one element otherwise
    parts: list[str] = field(default_factory=list)
    #: the form the answer must take, as a llama.cpp grammar (GBNF); backends that cannot
    #: constrain their output ignore it (the citation check holds every answer to the same form)
    grammar: str | None = None
    #: where a backend that knows its token counts records them (the others are counted for them)
    usage: UsageMeter | None = None


class Generator(ABC):
    """A backend that streams an answer draft."""

    #: reported in ``Answer.generator``, e.g. ``'local:qwen2.5-1.5b'``
    name: str = "generator"
    #: whether the backend is a language model (it then gets the prompt and a few passages,
    #: and requests wait in a bounded queue for it)
    uses_llm: bool = True
    #: requests it answers at the same time (a local model: one)
    parallel: int = 1

    def load(self) -> None:  # noqa: B027 - optional: most backends have nothing to load
        """Get ready to answer (load a model into memory); called once, before the first request."""

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield pieces of the draft as they are produced."""

    def generate(self, request: GenerationRequest) -> str:
        """The whole draft at once."""
        return "".join(self.stream(request))


#: a factory builds a generator from the settings and, when one is loaded, the embedder
#: (the extractive backend uses it for English questions; the others ignore it)
GeneratorFactory = Callable[["Settings", "Embedder | None"], Generator]


def _local(settings: Settings, embedder: Embedder | None = None) -> Generator:
    from assistant.answer.generate.local import LocalGenerator

    return LocalGenerator.from_settings(settings)


def _openai(settings: Settings, embedder: Embedder | None = None) -> Generator:
    from assistant.answer.generate.openai import OpenAIGenerator

    return OpenAIGenerator.from_settings(settings)


def _extractive(settings: Settings, embedder: Embedder | None = None) -> Generator:
    from assistant.answer.generate.extractive import ExtractiveGenerator

    return ExtractiveGenerator.from_settings(settings, embedder)


#: generator name -> factory; tests and plugins may register more
GENERATORS: dict[str, GeneratorFactory] = {
    "local": _local,
    "openai": _openai,
    "extractive": _extractive,
}


def generator_choices() -> list[str]:
    """Every name a caller may give: ``auto`` and the registered generators."""
    return [AUTO, *GENERATORS]


# at the end: the pool is built on the names above (import cycle otherwise)
from assistant.answer.generate.pool import GeneratorPool, Lease  # noqa: E402

__all__ = ["AUTO", "GENERATORS", "GenerationRequest", "Generator", "GeneratorPool", "Lease", "generator_choices"]
