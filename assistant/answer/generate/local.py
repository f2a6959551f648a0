"""The local generator: a GGUF model run in-process by llama-cpp-python (default
Qwen2.5-Coder-1.5B-Instruct Q4_K_M; ``qwen2.5-0.5b`` or any GGUF path via ``settings.local_model``).

The model loads once, under a lock (two first requests must not load two copies); another lock
serialises generation because a ``llama_cpp.Llama`` object is not safe to use from two threads.
A request's :class:`~assistant.answer.generate.cancel.Cancellation` stops generation between tokens and,
through llama.cpp's abort callback, inside the evaluation of a long prompt.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer.generate import GenerationRequest, Generator
from assistant.answer.generate.cancel import Cancellation
from assistant.answer.generate.gguf_models import MODELS, resolve_local_model
from assistant.answer.generate.usage import UsageMeter
from assistant.core.errors import GeneratorError, ModelLoadError

if TYPE_CHECKING:
    from assistant.core.settings import Settings

log = logging.getLogger(__name__)
_INSTALL_HINT = "install it with: pip install 'llama-cpp-python==0.3.36' (or pip install -e '.[local]')"


class AbortSwitch:
    """A flag llama.cpp reads while it computes, without taking Python's GIL.

    llama.cpp calls a context's abort callback between the nodes of every forward pass (about a
    thousand per token); a true return stops ``llama_decode``. A Python callback would need the GIL
    each time and stall the model behind any busy Python thread (a search tokenizing with jieba).
    So the callback is libc's ``strlen`` over a two-byte buffer: it returns 1 (abort) once the first
    byte is set and 0 while it is zero. ``strlen(const char *)`` and the callback's
    ``bool (*)(void *)`` pass the pointer and return the value in the same registers on the 64-bit
    ABIs llama.cpp supports, and 0/1 is a valid ``bool``.
    """

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._buffer = ctypes.create_string_buffer(2)
        strlen = ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p).value
        if strlen is None:
            raise OSError("libc's strlen was not found")
        # kept as attributes: llama.cpp holds raw pointers to both
        self._callback = llama_cpp.ggml_abort_callback(strlen)
        llama_cpp.llama_set_abort_callback(llm._ctx.ctx, self._callback, ctypes.cast(self._buffer, ctypes.c_void_p))

    def set(self, abort: bool) -> None:
        """Make llama.cpp stop (True) or run (False) from its next check on."""
        self._buffer[0] = b"\x01" if abort else b"\x00"

    @classmethod
    def install(cls, llm: Any) -> AbortSwitch | None:
        """The switch for ``llm``, or None where it cannot be installed (then cancellation takes
        effect between tokens only)."""
        try:
            return cls(llm)
        except (AttributeError, OSError, TypeError) as exc:  # another llama-cpp-python, no libc
            log.warning("llama.cpp's abort callback is unavailable (%s): a cancelled prompt runs to its end", exc)
            return None


class LocalGenerator(Generator):
    """Streams chat completions from a GGUF file through ``llama_cpp.Llama``."""

    def __init__(self, model_path: Path, *, label: str | None = None, threads: int = 2, context: int = 4096,
                 seed: int = 0, prompt_lookup: int = 0) -> None:
        self.model_path = Path(model_path)
        self.prompt_lookup = prompt_lookup
        self.name = f"local:{label or self.model_path.stem}"
        self.threads = threads
        self.context = context
        self.seed = seed
        self._llm: Any = None
        self._abort: AbortSwitch | None = None
        self._active: Cancellation | None = None  # the cancellation of the request generating now
        self._load_lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalGenerator:
        """The model ``settings.local_model`` names, in ``settings.models_dir``."""
        path = resolve_local_model(settings.local_model, settings.models_dir)
        label = settings.local_model if settings.local_model in MODELS else path.stem
        return cls(path, label=label, threads=settings.llm_threads, context=settings.llm_context,
                   prompt_lookup=settings.llm_prompt_lookup)

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._llm is not None

    def load(self) -> Any:
        """Load the model (once, whoever calls first). Raises :class:`ModelLoadError` saying what is wrong."""
        with self._load_lock:
            if self._llm is None:
                self._llm = self._load()
                self._abort = AbortSwitch.install(self._llm)
            return self._llm

    def _load(self) -> Any:
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
        drafts = PromptLookup.create(self.prompt_lookup) if self.prompt_lookup else None
        try:
            llm = llama_cpp.Llama(
                model_path=str(self.model_path), n_ctx=self.context, n_threads=self.threads,
                seed=self.seed, verbose=False, draft_model=drafts, logits_all=drafts is not None,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {self.model_path}: {exc}") from exc
        if drafts is not None:
            drafts.llm = llm
        return llm

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
        cancel = request.cancel
        with self._lock:
            if cancel is not None:
                cancel.check()
            abort = self._abort
            if abort is not None:
                abort.set(False)
            self._active = cancel
            unregister = cancel.on_cancel(lambda: self._stop(cancel)) if cancel is not None else None
            chunks = None
            tally = TokenTally()
            PromptLookup.prefill_without_logits(llm)
            try:
                with tally.watching(llm):
                    chunks = llm.create_chat_completion(
                        messages=request.messages, max_tokens=request.max_tokens,
                        temperature=request.temperature, stop=request.stop or None, stream=True,
                        grammar=self._grammar(request.grammar),
                    )
                    for chunk in chunks:
                        if cancel is not None:
                            cancel.check()
                        choice = chunk["choices"][0]
                        text = choice["delta"].get("content")
                        if text:
                            yield text
                        tally.finish_reason = choice.get("finish_reason") or tally.finish_reason
                # drafted tokens past max_tokens are in the context, not the answer
                tally.record(request.usage, limit=request.max_tokens if self.prompt_lookup else None)
            except RuntimeError as exc:  # llama_decode returned 2: the abort switch stopped it
                if cancel is not None and cancel.cancelled:
                    raise cancel.error from exc
                raise GeneratorError(f"{self.name} failed: {exc}") from exc
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise GeneratorError(f"{self.name} failed: {exc}") from exc
            finally:
                if chunks is not None:
                    chunks.close()  # llama-cpp-python's generator ends its bookkeeping
                if unregister is not None:
                    unregister()
                self._active = None

    def _stop(self, cancel: Cancellation) -> None:
        # runs in the cancelling thread; a late call for a request that has finished does nothing
        if self._abort is not None and self._active is cancel:
            self._abort.set(True)


class PromptLookup:
    """Prompt-lookup decoding: an answer copies its evidence, so the tokens that followed the last
    words written, where those words occur in the prompt, are a good guess of what comes next. The
    guessed tokens go through the model in one batch with the token just sampled; each position is
    sampled as usual (grammar included), and the guesses count up to the first one the model would
    not have written. On CPU a batch of ten costs about two single steps, so a copied clause comes
    several tokens a step.

    llama-cpp-python does this with a ``draft_model`` (its ``LlamaPromptLookupDecoding``), but then
    keeps the logits of every token it evaluates, the prompt's too: 600 KB a token and the output
    layer run over the whole prompt. So the prompt is prefilled with the last token's logits only
    (:meth:`prefill_without_logits`), and the drafter asks for every position's logits from its first
    guess on: the batches it makes are the only ones that need them (the rows of llama-cpp-python's
    logits array, sized for the whole context, are touched only there).
    """

    @staticmethod
    def create(tokens: int) -> Any:
        """A drafter of up to ``tokens`` tokens, matching the last 1-2 tokens written against the prompt."""
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        class Drafter(LlamaPromptLookupDecoding):
            llm: Any = None

            def __call__(self, input_ids: Any, /, **kwargs: Any) -> Any:
                if self.llm is not None:
                    self.llm._logits_all = True  # the batch about to run holds guesses: sample each position
                return super().__call__(input_ids, **kwargs)

        return Drafter(max_ngram_size=2, num_pred_tokens=tokens)

    @staticmethod
    def prefill_without_logits(llm: Any) -> None:
        """Before a completion: its prompt needs the last token's logits only (see the class)."""
        if getattr(llm, "draft_model", None) is not None:
            llm._logits_all = False


class TokenTally:
    """The local model's own token counts for one streamed completion.

    llama-cpp-python's stream carries no ``usage``, and its chat API takes no hook; its completion
    API takes stopping criteria, which llama.cpp calls after sampling each token with the tokens in
    the context so far. So while a completion runs, :meth:`watching` adds a criterion that never
    stops anything and notes those lengths: the first is the prompt as prefilled plus cached, and
    each later one is one more sampled token. The last token sampled is not in the context yet: it
    counts unless it ended the generation (``finish_reason`` ``"stop"``), as in llama.cpp's own
    ``usage`` of a completion that is not streamed.
    """

    def __init__(self) -> None:
        self.prompt: int | None = None
        self.longest = 0
        self.finish_reason: str | None = None

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        n = len(input_ids)
        if self.prompt is None:
            self.prompt = n
        self.longest = max(self.longest, n)
        return False

    @contextmanager
    def watching(self, llm: Any) -> Iterator[None]:
        """Count the completions ``llm`` runs inside the block (the caller holds the model's lock)."""
        from llama_cpp import StoppingCriteriaList

        complete = llm.create_completion

        def counted(*args: Any, **kwargs: Any) -> Any:
            criteria = kwargs.get("stopping_criteria")
            others = list(criteria) if isinstance(criteria, list) else [criteria] if criteria is not None else []
            kwargs["stopping_criteria"] = StoppingCriteriaList([*others, self])
            return complete(*args, **kwargs)

        llm.create_completion = counted  # this instance only, for this completion
        try:
            yield
        finally:
            del llm.create_completion

    def record(self, meter: UsageMeter | None, limit: int | None = None) -> None:
        """Add the counts to ``meter`` (nothing is recorded when no token was sampled). ``limit``:
        the completion's ``max_tokens``; drafted tokens accepted past it (prompt-lookup decoding
        checks a whole draft at once) are in the context but not in the answer."""
        if meter is None or self.prompt is None:
            return
        sampled = self.longest - self.prompt + 1 - (1 if self.finish_reason == "stop" else 0)
        meter.record(self.prompt, sampled if limit is None else min(sampled, limit), "model")
