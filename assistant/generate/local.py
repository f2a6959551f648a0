"""The local generator: a GGUF model run in-process by llama-cpp-python (default
Qwen2.5-Coder-1.5B-Instruct Q4_K_M; ``qwen2.5-0.5b`` or any GGUF path via ``settings.local_model``).

The model loads once, on first use; a lock serialises generation because a ``llama_cpp.Llama``
object is not safe to use from two threads (the API serves requests concurrently).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import GeneratorError, ModelLoadError
from assistant.generate import GenerationRequest, Generator
from assistant.generate.gguf_models import MODELS, resolve_local_model

if TYPE_CHECKING:
    from assistant.settings import Settings

_INSTALL_HINT = "install it with: pip install 'llama-cpp-python==0.3.36' (or pip install -e '.[local]')"


class LocalGenerator(Generator):
    """Streams chat completions from a GGUF file through ``llama_cpp.Llama``."""

    def __init__(self, model_path: Path, *, label: str | None = None, threads: int = 2, context: int = 4096,
                 seed: int = 0) -> None:
        self.model_path = Path(model_path)
        self.name = f"local:{label or self.model_path.stem}"
        self.threads = threads
        self.context = context
        self.seed = seed
        self._llm: Any = None
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalGenerator:
        """The model ``settings.local_model`` names, in ``settings.models_dir``."""
        path = resolve_local_model(settings.local_model, settings.models_dir)
        label = settings.local_model if settings.local_model in MODELS else path.stem
        return cls(path, label=label, threads=settings.llm_threads, context=settings.llm_context)

    def load(self) -> Any:
        """Load the model (once). Raises :class:`ModelLoadError` saying what is wrong."""
        if self._llm is not None:
            return self._llm
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelLoadError(
                f"the local generator needs llama-cpp-python, which is not installed; {_INSTALL_HINT}"
            ) from exc
        if not self.model_path.is_file():
            hint = "run `assistant models pull` to download it" if self.name.split(":", 1)[1] in MODELS else \
                "check ASSISTANT_LOCAL_MODEL"
            raise ModelLoadError(f"local model file {self.model_path} does not exist; {hint}")
        with self.model_path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelLoadError(f"{self.model_path} is not a GGUF file (bad magic bytes)")
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.model_path), n_ctx=self.context, n_threads=self.threads,
                seed=self.seed, verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {self.model_path}: {exc}") from exc
        return self._llm

    def _grammar(self, text: str | None) -> Any:
        """The compiled grammar for ``text`` (compiled once per distinct text)."""
        if text is None:
            return None
        if text not in self._grammars:
            from llama_cpp.llama_grammar import LlamaGrammar

            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        llm = self.load()
        with self._lock:
            try:
                chunks = llm.create_chat_completion(
                    messages=request.messages, max_tokens=request.max_tokens,
                    temperature=request.temperature, stop=request.stop or None, stream=True,
                    grammar=self._grammar(request.grammar),
                )
                for chunk in chunks:
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise GeneratorError(f"{self.name} failed: {exc}") from exc
