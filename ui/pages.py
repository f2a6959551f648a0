"""The page viewer: a citation card's "p. 6" opens a side panel with that page, the passage marked.

A card's page link (``ui/render.py``) points at ``GET /v1/documents/{id}/pages/{n}?highlight=…``. The page's script
(:data:`HEAD`) turns a click on it into a request the server answers with the page image, drawn
by :class:`~assistant.storage.pageimages.PageImages` as ``GET /v1/documents/{id}/pages/{n}`` draws
it (the same cached PNG, handed to gradio as a copy), and the panel opens beside the chat. With API
keys set, the page sits behind the chat's login like the rest of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.processing_utils import save_bytes_to_cache

from assistant.core.errors import AssistantError
from assistant.core.redact import public_message
from assistant.storage.documents import get_document
from assistant.storage.pageimages import PageImages
from ui.collections import Held

log = logging.getLogger(__name__)

TITLE = "原文页面 · The cited page"
CLOSE = "关闭 · Close"
#: a click on a card's page link asks for that page: the request goes through a hidden button whose
#: event reads it from ``window.raPageRequest`` (gradio's sanitised chat HTML keeps a link's address,
#: not handlers or data attributes); the link itself points at the API's image of the page
HEAD = """<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.ra-page-link");
  if (!link) return;
  const url = new URL(link.href);
  const found = url.pathname.match(/\\/pages\\/(\\d+)$/);
  if (!found) return;
  event.preventDefault();
  event.stopPropagation();
  window.raPageRequest = JSON.stringify({passage: url.searchParams.get("highlight"), page: Number(found[1])});
  const open = document.getElementById("ra-page-open");
  if (open) open.click();
}, true);
</script>"""
_READ_REQUEST = "(value, collection) => [window.raPageRequest || value, collection]"


def caption(passage_id: str, source: str, page: int, pages: int) -> str:
    """The line above the image: which document, which page of how many, which passage is marked."""
    return (f'<div class="ra-page-caption"><b>{escape(source)}</b> · 第 {page} / {pages} 页 · page {page} of '
            f'{pages}<div class="ra-source">{escape(passage_id)}</div></div>')


def add_page_viewer(use: Callable[[str, gr.Request], Held], collection: gr.Dropdown) -> None:
    """The side panel and the events that fill it (call inside the page's ``gr.Blocks``); the passage is
    looked up in the collection selected (``use`` holds it for the visitor's key)."""
    request = gr.Textbox(elem_id="ra-page-request", elem_classes="ra-hidden", show_label=False, container=False)
    open_page = gr.Button("open", elem_id="ra-page-open", elem_classes="ra-hidden")
    with gr.Sidebar(position="right", open=False, width=560, elem_id="ra-page-panel") as panel:
        gr.Markdown(f"### {TITLE}")
        note = gr.HTML("", elem_id="ra-page-caption")
        image = gr.Image(type="filepath", format="png", show_label=False, interactive=False,
                         elem_id="ra-page-image", buttons=["download", "fullscreen"])
        close = gr.Button(CLOSE, elem_id="ra-page-close", size="sm")

    def show(asked: str, name: str, request: gr.Request) -> tuple[Any, str, str | None]:
        try:
            wanted = json.loads(asked or "{}")
            passage_id, page = str(wanted.get("passage", "")), int(wanted.get("page", 1))
        except (ValueError, TypeError):
            return gr.Sidebar(open=True), _error("bad page request"), None
        try:
            with use(name, request) as held:
                assistant = held.assistant
                passage = assistant.passage(passage_id)
                if passage is None:
                    return gr.Sidebar(open=True), _error(f"no passage {passage_id} in the index"), None
                document = get_document(assistant.settings, Path(passage.source).stem)
                drawn = PageImages(assistant.settings).render(document, page, passage=passage)
        except AssistantError as exc:
            return gr.Sidebar(open=True), _error(public_message(exc)), None
        # a copy in gradio's own cache (a seeded hash of the bytes names it), not the path in the page
        # cache: that cache is shared by every collection, and a folder gradio serves by path would
        # hand any signed-in key a page of any collection's document whose path it can work out
        shown = save_bytes_to_cache(drawn.path.read_bytes(), "page.png", cache_dir=image.GRADIO_CACHE)
        return gr.Sidebar(open=True), caption(passage.id, passage.source, drawn.page, drawn.pages), shown

    open_page.click(show, inputs=[request, collection], outputs=[panel, note, image], js=_READ_REQUEST)
    close.click(lambda: gr.Sidebar(open=False), outputs=[panel])


def _error(message: str) -> str:
    return f'<div class="ra-error">{escape(message)}</div>'
