"""What a client may read of an error: no file paths, URLs, addresses or model files.

Messages of the error tree are written for the operator ("local model file /root/.cache/...
does not exist", "cannot reach http://10.0.0.5:8080/v1 (model 'x')"). A client of the API or
the chat gets instead:

- for a server-side failure (5xx), a fixed sentence per kind of error, plus an error id that the
  server log shows beside the full message;
- for a problem with the request (4xx), the message itself (it is about what the client sent),
  with anything that looks like a path, URL, address or model file replaced.
"""

from __future__ import annotations

import logging
import re
import uuid

from assistant.core.errors import (
    AssistantError,
    ChangeTimeoutError,
    CorpusError,
    GeneratorError,
    GeneratorTimeoutError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    ModelLoadError,
    PromptError,
)

log = logging.getLogger(__name__)

#: the client's sentence for each kind of server-side failure (first match in this order wins)
PUBLIC_MESSAGES: tuple[tuple[type[AssistantError], str], ...] = (
    (GeneratorTimeoutError, "the generator did not answer in time"),
    (ChangeTimeoutError, "the document change took too long and was stopped; nothing was changed"),
    (GeneratorError, "the generator failed while answering"),
    (ModelLoadError, "a model this request needs could not be loaded"),
    (IndexMissingError, "the search index has not been built"),
    (IndexMismatchError, "the search index does not match the server's settings and must be rebuilt"),
    (IndexCorruptError, "the search index is damaged and must be rebuilt"),
    (CorpusError, "the report corpus cannot be read"),
    (PromptError, "the server's prompt files are broken"),
)

_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://anything up to white space or a closing quote/bracket
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)\]]+"), "<url>"),
    # model and index files, with or without a folder in front
    (re.compile(r"[^\s'\"<>]*\.(?:gguf|bin|safetensors|onnx|pt|pth|faiss|npy)\b", re.I), "<model file>"),
    # absolute POSIX paths (not the API's own routes), home-relative and Windows paths
    (re.compile(r"(?<![\w.<>])(?:~|\.{1,2})?/(?!v1/|v1\b|ui\b|docs\b|healthz\b|openapi\.json)[^\s'\"<>,;]+"), "<path>"),
    (re.compile(r"\b[A-Za-z]:\\[^\s'\"<>,;]*"), "<path>"),
    # IPv4 addresses, with a port; host:port pairs
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<address>"),
    (re.compile(r"\b[\w.-]+\.[a-z]{2,}:\d{2,5}\b", re.I), "<address>"),
)


def redact(message: str) -> str:
    """``message`` with paths, URLs, addresses and model files replaced by placeholders."""
    for pattern, placeholder in _REPLACEMENTS:
        message = pattern.sub(placeholder, message)
    return message


def public_message(exc: AssistantError, status: int | None = None) -> str:
    """The message a client sees for ``exc``; a server-side failure is logged with an id first."""
    status = exc.http_status if status is None else status
    text = str(exc) or type(exc).__name__
    if status < 500 or status == 503 and not _server_fault(exc):
        return redact(text)
    error_id = uuid.uuid4().hex[:8]
    log.error("error %s (%s): %s", error_id, type(exc).__name__, text)
    summary = next((msg for kind, msg in PUBLIC_MESSAGES if isinstance(exc, kind)), "internal error")
    return f"{summary} (error id {error_id}; the server log has the details)"


def _server_fault(exc: AssistantError) -> bool:
    # a 503 is either "try again shortly" (loading, shutting down: the message is for the client)
    # or a broken index or model (the message is for the operator)
    return any(isinstance(exc, kind) for kind, _ in PUBLIC_MESSAGES)
