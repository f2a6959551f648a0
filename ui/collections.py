"""The chat's collection selector: which knowledge base a session asks, uploads to and looks back on.

The chat reaches the server's collections through :class:`Knowledge` (the API's registry is one; so is
:class:`OneKnowledge`, a lone assistant): only the collections the logged-in key sees are offered,
and each answer, upload, page and example is the selected collection's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import gradio as gr

from assistant.answer.pipeline import Assistant
from assistant.assemble import collection_for
from assistant.storage.documents import DocumentCollection

DEFAULT_COLLECTION = "default"
LABEL = "知识库 · Collection"


class Held(Protocol):
    """One request's hold on a collection (a delete waits until it is released)."""

    name: str

    @property
    def assistant(self) -> Assistant: ...

    @property
    def documents(self) -> DocumentCollection: ...

    def release(self) -> None: ...

    def __enter__(self) -> Held: ...

    def __exit__(self, *exc: object) -> None: ...


class Knowledge(Protocol):
    """The collections the chat may offer."""

    def names(self, client: str | None) -> list[str]: ...

    def use(self, name: str | None, client: str | None) -> Held: ...


class _Lone:
    def __init__(self, assistant: Assistant) -> None:
        self.name = DEFAULT_COLLECTION
        self.assistant = assistant

    @property
    def documents(self) -> DocumentCollection:
        return collection_for(self.assistant)

    def release(self) -> None:
        pass

    def __enter__(self) -> _Lone:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class OneKnowledge:
    """A lone assistant as the only collection (a chat built without the server's registry)."""

    def __init__(self, assistant: Callable[[], Assistant]) -> None:
        self._assistant = assistant

    def names(self, client: str | None) -> list[str]:
        return [DEFAULT_COLLECTION]

    def use(self, name: str | None, client: str | None) -> _Lone:
        return _Lone(self._assistant())


def selector() -> gr.Dropdown:
    """The selector (call inside the page's ``gr.Blocks``); its choices are filled per visitor on load."""
    return gr.Dropdown(choices=[DEFAULT_COLLECTION], value=DEFAULT_COLLECTION, label=LABEL, scale=2,
                       elem_id="ra-collection", interactive=True)


def choices(knowledge: Knowledge, client: str | None, current: str | None) -> gr.Dropdown:
    """The collections ``client`` sees, the current one kept when it still may be chosen."""
    names = knowledge.names(client)
    value = current if current in names else (names[0] if names else None)
    return gr.Dropdown(choices=names, value=value)
