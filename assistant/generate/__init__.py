"""Generators: turn a request (chat messages plus the numbered passages) into streamed text.

A backend implements one method, :meth:`Generator.stream`; :meth:`Generator.generate` joins it.
Backends are registered in :data:`GENERATORS`, a plain dict from a name to a factory; that dict is
the one list of generator names (settings, CLI choices and API docs derive theirs from it).
:class:`GeneratorPool` resolves a requested name and builds each generator once. Heavy imports
(llama_cpp, openai) live inside the backend modules.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.errors import UnknownNameError
from assistant.evidence import Evidence
from assistant.text.language import Language
from assistant.types import Passage

if TYPE_CHECKING:
    from assistant.embed import Embedder
    from assistant.settings import Settings

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
    evidence: list[Evidence] = field(default_factory=list)
    #: a two-part question's parts (each standalone); one element otherwise
    parts: list[str] = field(default_factory=list)
    #: the form the answer must take, as a llama.cpp grammar (GBNF); backends that cannot
    #: constrain their output ignore it (the citation check holds every answer to the same form)
    grammar: str | None = None


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


def _local(settings: Settings, embedder: Embedder | None = None) -> Generator:
    from assistant.generate.local import LocalGenerator

    return LocalGenerator.from_settings(settings)


def _openai(settings: Settings, embedder: Embedder | None = None) -> Generator:
    from assistant.generate.openai import OpenAIGenerator

    return OpenAIGenerator.from_settings(settings)


def _extractive(settings: Settings, embedder: Embedder | None = None) -> Generator:
    from assistant.generate.extractive import ExtractiveGenerator

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


class GeneratorPool:
    """The generators one assistant uses: names resolved, each generator built once and reused
    (a local model loads once, even when two first requests arrive together)."""

    def __init__(
        self,
        settings: Settings,
        factories: Mapping[str, GeneratorFactory] | None = None,
        *,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.factories: dict[str, GeneratorFactory] = dict(GENERATORS if factories is None else factories)
        self.embedder = embedder
        self._built: dict[str, Generator] = {}
        self._lock = threading.Lock()
        self.resolve(settings.generator)  # an unknown configured name fails at start-up

    @property
    def default(self) -> str:
        """The generator used when a call names none (``auto`` resolved)."""
        return self.resolve(None)

    def names(self) -> list[str]:
        """Registered names a caller may pass, the default first."""
        default = self.default
        return sorted(self.factories, key=lambda name: (name != default, name))

    def resolve(self, name: str | None) -> str:
        """Map a requested name (``None`` = the configured one, ``auto``) to a registered one."""
        name = name or self.settings.generator
        if name == AUTO:
            name = "local" if "local" in self.factories and self._local_model_present() else "extractive"
        if name not in self.factories:
            raise UnknownNameError("generator", name, [AUTO, *self.factories])
        return name

    def get(self, name: str | None = None) -> Generator:
        """The generator ``name`` (default: the configured one), built on first use."""
        key = self.resolve(name)
        with self._lock:
            if key not in self._built:
                self._built[key] = self.factories[key](self.settings, self.embedder)
            return self._built[key]

    def _local_model_present(self) -> bool:
        from assistant.generate.gguf_models import resolve_local_model

        try:
            return resolve_local_model(self.settings.local_model, self.settings.models_dir).is_file()
        except UnknownNameError:
            return False


__all__ = ["AUTO", "GENERATORS", "GenerationRequest", "Generator", "GeneratorPool", "generator_choices"]
