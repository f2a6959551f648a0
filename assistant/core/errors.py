"""The assistant's small error tree.

Lower layers raise these (re-raising foreign errors ``from exc``); the edges translate
them: the CLI into an exit code and a message, the API into a status code, the chat
into a readable line.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""

    #: CLI exit code for this kind of error.
    exit_code: int = 1
    #: HTTP status for this kind of error.
    http_status: int = 500


class InvalidInputError(AssistantError):
    """A question, query or parameter the user gave is not acceptable."""

    exit_code = 2
    http_status = 422


class CorpusError(AssistantError):
    """The corpus folder is missing, empty or unreadable."""

    exit_code = 3
    http_status = 500


class UnreadableDocumentError(CorpusError):
    """A document cannot be read: damaged, password-protected, empty, or without a text layer.

    At the API it is the uploader's file that is at fault, hence a 4xx, unlike other corpus errors.
    """

    http_status = 422


class UnsupportedDocumentError(UnreadableDocumentError):
    """A file whose content is not a supported document type (an image, a spreadsheet, a PDF named .docx…)."""

    http_status = 415


class DocumentTooLargeError(UnreadableDocumentError):
    """A document over a reading limit: bytes, pages, or what its zip archive would unpack to."""

    http_status = 413


class IndexUnavailableError(AssistantError):
    """The index cannot be used: not built, built otherwise, damaged, or its store unreachable."""

    exit_code = 4
    http_status = 503


class IndexMissingError(IndexUnavailableError):
    """No index has been built yet."""


class IndexMismatchError(IndexUnavailableError):
    """The index was built with another embedding model or other chunking settings."""


class IndexCorruptError(IndexUnavailableError):
    """The index files are unreadable or inconsistent with each other."""


class VectorStoreError(IndexUnavailableError):
    """The vector store (e.g. a Milvus server) cannot be reached or refused an operation."""


class ModelLoadError(AssistantError):
    """An embedding or generative model could not be found or loaded."""

    exit_code = 5
    http_status = 503


class GeneratorError(AssistantError):
    """The generator failed while answering (remote error, crash, bad output)."""

    exit_code = 6
    http_status = 502


class GeneratorTimeoutError(GeneratorError):
    """A remote generator did not answer in time."""

    http_status = 504


class ChangeTimeoutError(AssistantError):
    """A document change took longer than its time-out and was stopped before its commit point:
    the documents and the index are as they were."""

    exit_code = 1
    http_status = 504


class DocumentNotFoundError(InvalidInputError):
    """No document in the collection has this id."""

    http_status = 404


class DocumentConflictError(InvalidInputError):
    """The change would clash with the collection: the id is taken, or the last document would go."""

    http_status = 409


class UnknownNameError(InvalidInputError):
    """A registry lookup (generator, embedder, model) for a name that does not exist."""

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        self.kind = kind
        self.name = name
        self.choices = list(choices)
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(self.choices)}")


class PromptError(AssistantError):
    """A prompt file is missing, malformed or lacks a required variable."""

    exit_code = 7
    http_status = 500


class NotFoundError(InvalidInputError):
    """Something asked for by id (a logged answer) does not exist."""

    http_status = 404


class PageNotFoundError(NotFoundError):
    """A page the document does not have, or a passage to mark that is not the document's."""


class NoPageImagesError(NotFoundError):
    """A document without page images: text or HTML has no pages, and a Word document has them only
    through a converter (LibreOffice) that is not installed."""


class QuestionLogError(AssistantError):
    """The question log is switched off, or its database cannot be read or written."""

    exit_code = 8
    http_status = 503


class BusyError(AssistantError):
    """A model's queue is full: the request is refused at once instead of waiting without bound.

    ``retry_after`` is the caller's best guess, in whole seconds, of when a place frees up.
    """

    exit_code = 9
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class NotReadyError(BusyError):
    """The model is still loading (or the server is shutting down): try again shortly."""

    http_status = 503


class RateLimitedError(BusyError):
    """A client sent more requests than its rate limit allows (or failed to authenticate too often)."""


class GeneratorNotAllowedError(AssistantError):
    """The operator did not allow this generator on this server (``ASSISTANT_ALLOWED_GENERATORS``)."""

    exit_code = 2
    http_status = 403


class RequestCancelledError(AssistantError):
    """The request was given up (client gone, server shutting down) and its work stopped.

    The status is nginx's "client closed request": nobody usually reads it, but logs do.
    """

    exit_code = 130
    http_status = 499


class CollectionNotFoundError(NotFoundError):
    """No collection of this name, or none the caller's key may see: both are answered alike, so
    that a key cannot learn which collections exist beyond its own."""


class EmptyCollectionError(InvalidInputError):
    """A collection without documents yet: nothing to search or answer from until some are added."""

    http_status = 409


class CollectionExistsError(InvalidInputError):
    """A collection of this name exists already."""

    http_status = 409


class CollectionForbiddenError(AssistantError):
    """Creating or deleting a collection takes an admin key (``KEY:*``); deleting ``default`` is refused."""

    exit_code = 2
    http_status = 403
