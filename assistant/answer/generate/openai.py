"""The OpenAI-compatible generator: any server speaking the OpenAI chat API (OpenAI itself,
llama.cpp's server, vLLM, Ollama...), through the official ``openai`` client.

Errors become the assistant's own, with the endpoint in the message: a time-out is a
:class:`GeneratorTimeoutError`, an unreachable server or an HTTP error a :class:`GeneratorError`.
The client does not retry (``max_retries=0``): a user is waiting, and the time-out is theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr

from assistant.answer.generate import GenerationRequest, Generator
from assistant.core.errors import GeneratorError, GeneratorTimeoutError, ModelLoadError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

    from assistant.core.settings import Settings

#: servers without authentication still need some key for the client to send
_NO_KEY = "not-needed"


class OpenAIGenerator(Generator):
    """Streams chat completions from ``base_url`` (ending in ``/v1``)."""

    #: a remote server answers several requests at once; more wait in the pool's queue
    parallel = 4

    def __init__(self, base_url: str, model: str, *, api_key: SecretStr | None = None, timeout: float = 60.0,
                 stream_usage: bool = True) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelLoadError("the openai generator needs the 'openai' package: pip install openai") from exc
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        #: ask for the upstream's token counts in the stream's last chunk (OpenAI's stream_options)
        self.stream_usage = stream_usage
        self.name = f"openai:{model}"
        key = api_key.get_secret_value() if api_key is not None else _NO_KEY
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key or _NO_KEY, timeout=timeout, max_retries=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIGenerator:
        """Raises :class:`ModelLoadError` when no base URL is configured."""
        if not settings.openai_base_url:
            raise ModelLoadError(
                "the openai generator needs the server's address: set ASSISTANT_OPENAI_BASE_URL "
                "(e.g. http://127.0.0.1:8080/v1), plus ASSISTANT_OPENAI_API_KEY and ASSISTANT_OPENAI_MODEL if needed"
            )
        return cls(settings.openai_base_url, settings.openai_model, api_key=settings.openai_api_key,
                   timeout=settings.openai_timeout, stream_usage=settings.openai_stream_usage)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        where = f"{self.base_url} (model {self.model!r})"
        cancel = request.cancel
        unregister = None
        try:
            options: dict[str, Any] = {"stream_options": {"include_usage": True}} if self.stream_usage else {}
            chunks: Any = self._client.chat.completions.create(
                model=self.model, messages=cast("list[ChatCompletionMessageParam]", request.messages),
                max_tokens=request.max_tokens, temperature=request.temperature,
                stop=request.stop or None, stream=True, **options,
            )
            if cancel is not None:
                # closing the response from the cancelling thread ends a read that waits for the
                # server's next chunk; the loop then stops with the cancellation's error
                unregister = cancel.on_cancel(chunks.close)
            for chunk in chunks:
                if cancel is not None:
                    cancel.check()
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
                usage = getattr(chunk, "usage", None)
                if usage is not None and request.usage is not None:  # the last chunk, when the server counts
                    request.usage.record(usage.prompt_tokens, usage.completion_tokens, "upstream")
        except Exception as exc:
            if cancel is not None and cancel.cancelled:
                raise cancel.error from exc
            raise self._translate(exc, where) from exc
        finally:
            if unregister is not None:
                unregister()

    def _translate(self, exc: Exception, where: str) -> Exception:
        """The assistant's own error for a failure of the client (any other error passes through)."""
        import httpx
        import openai

        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return GeneratorTimeoutError(f"{where} did not answer within {self.timeout:g} s")
        if isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = body.get("message") or exc.message
            return GeneratorError(f"{where} answered HTTP {exc.status_code}: {_short(str(detail))}")
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return GeneratorError(f"cannot reach {where}: {_short(str(exc.__cause__ or exc))}")
        if isinstance(exc, openai.OpenAIError):
            return GeneratorError(f"{where} failed: {_short(str(exc))}")
        return exc


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
