"""Which assistant answers a request: the seam where named collections (and keys scoped to them) plug in.

A server answers from one collection today, ``default`` (:class:`OneCollection`). A registry of
collections implements :class:`Collections` the same way: it returns the assistant of a name it
holds, and raises :class:`~assistant.core.errors.InvalidInputError` (or a refusal of its own) for a
name it does not hold or a client whose key is not scoped to it. The MCP tools ask it for their
assistant with the ``collection`` argument they were given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from assistant.core.errors import InvalidInputError

if TYPE_CHECKING:
    from assistant.answer.pipeline import Assistant

#: the name of the collection a server answers from when none is named
DEFAULT_COLLECTION = "default"


class Collections(Protocol):
    """The collections a server answers from."""

    def assistant(self, name: str | None, client: str | None) -> Assistant:
        """The assistant of collection ``name`` (None: the default one) for ``client`` (an API key's id,
        None without keys)."""
        ...


class OneCollection:
    """A server without collections: the default collection is the only one."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant

    def assistant(self, name: str | None, client: str | None) -> Assistant:
        if name is None or name == DEFAULT_COLLECTION:
            return self._assistant
        raise InvalidInputError(
            f"collections are not configured on this server, so there is no collection {name!r}: leave "
            f"'collection' out (or pass {DEFAULT_COLLECTION!r}) to use the one set of reports it answers from"
        )
