"""The chat page's documents panel: an upload box, and the list of documents with a remove button each.

A change goes through the same :class:`~assistant.storage.documents.DocumentCollection` as ``assistant add``
and ``POST /v1/documents`` (one change at a time, all or nothing); the assistant answers from the
new index at the next question. Uploads are bounded by ``ASSISTANT_MAX_UPLOAD_BYTES`` (the API
sets gradio's ``max_file_size`` and the body limit of its upload route); with API keys set, the
whole page sits behind the key.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.core.errors import AssistantError, ChangeTimeoutError, RequestCancelledError
from assistant.core.redact import public_message
from assistant.ingest import SUFFIXES
from assistant.storage.documents import ChangeReport, DocumentInfo, NewDocument
from ui import render
from ui.collections import Held

log = logging.getLogger(__name__)

TITLE = "文档 · Documents"
UPLOAD = "上传文档 · Upload a document (PDF, DOCX, HTML, TXT, MD)"
REPLACE = "替换同名文档 · Replace the document with the same name"
REMOVE = "删除 · Remove"
EMPTY = "没有文档 · No documents"
ALREADY = "已有相同内容的文档 · Already there (same content)"
#: how often a running change lets gradio notice that its page went away (and its progress is shown)
POLL_SECONDS = 0.5
#: what the steps of a stage of a change count
_UNITS = {"embedding sentences": "sentences", "embedding passages": "passages",
          "embedding passages and their sentences": "passages"}
Row = dict[str, Any]


def describe(doc: DocumentInfo | Row) -> str:
    """``green-report`` · pdf · 2 pages · 5 passages, as one escaped HTML line."""
    d = doc if isinstance(doc, dict) else doc.model_dump()
    parts = [escape(d["type"])]
    if d.get("pages"):
        parts.append(f"{d['pages']} 页 · pages")
    parts.append(f"{d['passages']} 段 · passages" if d.get("passages") is not None else "未索引 · not indexed")
    if d.get("instruction_passages"):
        parts.append(f'<span class="ra-doc-warning">{d["instruction_passages"]} 段含对模型的指令，不作依据 · '
                     "passages of instructions, never used</span>")
    return f'<b class="ra-doc-id">{escape(d["id"])}</b> · ' + " · ".join(parts)


def _row_html(d: Row) -> str:
    added = escape(d["added"].replace("T", " ").replace("+00:00", " UTC"))
    return (f'<div class="ra-doc-line">{describe(d)}</div>'
            f'<div class="ra-source">{escape(d["source"])} · {added} · sha256 {escape(d["sha256"][:12])}</div>')


def _status(report: ChangeReport) -> str:
    """What a change did: the documents added, replaced or removed, and the index build."""
    gone = "已替换 · Replaced" if report.added else "已删除 · Removed"
    done = [f"已添加 · Added {describe(d)}" for d in report.added] + [f"{gone} {describe(d)}" for d in report.removed]
    done += [f"{ALREADY} {describe(d)}" for d in report.duplicates]
    if not report.changed:
        return '<div class="ra-docs-done">' + "<br>".join(done) + "</div>"
    b = report.build
    index = f"索引 · Index: {b.passages} 段 · passages, {b.embedded} 段新嵌入 · embedded, {b.seconds:.1f} s"
    return '<div class="ra-docs-done">' + "<br>".join(done) + f'<div class="ra-status">{index}</div></div>'


def _failed(exc: Exception) -> str:
    if isinstance(exc, AssistantError):
        return render.error(public_message(exc))  # no server paths: the message a client may read
    log.exception("the documents panel failed", exc_info=exc)
    return render.error(render.INTERNAL)


def forget_upload(path: Path) -> None:
    """Delete gradio's copy of an uploaded file once its change is over, added or refused: the corpus
    holds the document now, and gradio would go on serving its copy by path (``/file=…``), even after
    the document is removed. (Gradio keeps an upload in ``<its cache>/<hash of the bytes>/<name>``.)"""
    from gradio.utils import get_upload_folder

    path.unlink(missing_ok=True)
    if path.parent.parent.resolve() == Path(get_upload_folder()).resolve():
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the upload's own folder, when nothing else is in it


def run_change(change: Callable[..., ChangeReport], timeout: float) -> Iterator[ChangeReport | None]:
    """Run ``change(check=…)`` in a thread: None every :data:`POLL_SECONDS` while it runs, then its report.

    Gradio closes this iterator when the page that asked for the change goes away; the change then
    stops at its next check, before its commit point, and so it does after ``timeout`` seconds
    (``ASSISTANT_CHANGE_TIMEOUT``): the documents and the index stay as they were.
    """
    given_up = threading.Event()
    deadline = time.monotonic() + timeout
    outcome: dict[str, Any] = {}

    def check() -> None:
        if given_up.is_set():
            raise RequestCancelledError("the page that asked for the change was closed")
        if time.monotonic() > deadline:
            raise ChangeTimeoutError(f"the document change took longer than {timeout:g} s "
                                     "(ASSISTANT_CHANGE_TIMEOUT) and was stopped; nothing was changed")

    def work() -> None:
        try:
            outcome["report"] = change(check=check)
        except BaseException as exc:  # handed to the page's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="document change", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            if thread.is_alive():
                yield None
    finally:
        given_up.set()  # a no-op once the change is over
    if "error" in outcome:
        raise outcome["error"]
    yield outcome["report"]


def _remover(remove: Callable[[str, str, gr.Request], Iterator[tuple[Any, ...]]],
             doc_id: str) -> Callable[[str, gr.Request], Iterator[tuple[Any, ...]]]:
    # a function of its own, not functools.partial: gradio finds the gr.Request parameter by the annotation
    def remove_this(name: str, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        yield from remove(doc_id, name, request)

    return remove_this


def panel(blocks: gr.Blocks, use: Callable[[str, gr.Request], Held], collection: gr.Dropdown) -> None:
    """Add the documents panel to ``blocks`` (call inside its ``with`` block): the documents of the
    collection selected in ``collection`` (``use`` holds it for the visitor's key, for the whole change)."""

    def rows(name: str, request: gr.Request) -> list[Row]:
        try:
            with use(name, request) as held:
                return [d.model_dump() for d in held.documents.documents()]
        except AssistantError:
            return []

    def add(path: str | None, replace: bool, shown: list[Row], name: str, request: gr.Request,
            progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, ...]]:  # noqa: B008
        if not path:
            yield shown, "", None
            return
        file = Path(path)  # gradio keeps the uploaded file's own name
        # a bar with what is happening (reading, OCR and embedding take seconds to minutes); not
        # track_tqdm: gradio would then patch tqdm for the whole process and leak a file per bar
        progress(0.0, desc=f"读取并索引 · Reading and indexing {file.name}…")
        stage: dict[str, tuple[str, int, int]] = {}  # the change's last word on how far it is

        def watch(what: str, done: int, total: int) -> None:
            stage["now"] = (what, done, total)

        try:
            with use(name, request) as held:  # uploads go to the collection selected
                documents = held.documents
                change = partial(documents.add, [NewDocument.of(file)], replace=replace, watch=watch)
                for report in run_change(change, documents.settings.change_timeout):
                    if report is None and "now" in stage:  # how far the document is: read, then embedded
                        what, done, total = stage["now"]
                        progress((done, total), desc=f"{file.name}: {what}", unit=_UNITS.get(what, "documents"))
                    # otherwise nothing changes on the page while it runs; a closed page stops the change
                    yield ((gr.skip(), gr.skip(), gr.skip()) if report is None
                           else (rows(name, request), _status(report), None))
        except Exception as exc:
            yield rows(name, request), _failed(exc), None
        finally:
            forget_upload(file)

    def remove(doc_id: str, name: str, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        try:
            with use(name, request) as held:
                documents = held.documents
                for report in run_change(partial(documents.remove, doc_id), documents.settings.change_timeout):
                    yield (gr.skip(), gr.skip()) if report is None else (rows(name, request), _status(report))
        except Exception as exc:
            yield rows(name, request), _failed(exc)

    with gr.Accordion(TITLE, open=False, elem_id="ra-docs") as accordion:
        upload = gr.File(label=UPLOAD, file_types=list(SUFFIXES), file_count="single", type="filepath",
                         elem_id="ra-upload", height=120)
        replace = gr.Checkbox(label=REPLACE, value=False, elem_id="ra-replace")
        status = gr.HTML(elem_id="ra-docs-status")
        shown = gr.State([])

        def document_rows(items: list[Row]) -> None:
            if not items:
                gr.HTML(f'<div class="ra-status">{EMPTY}</div>')
            for item in items:
                with gr.Row(elem_classes="ra-doc", equal_height=True):
                    gr.HTML(_row_html(item), elem_classes="ra-doc-info")
                    button = gr.Button(REMOVE, size="sm", variant="stop", scale=0, min_width=110,
                                       elem_classes="ra-doc-remove")
                    button.click(_remover(remove, item["id"]), inputs=[collection], outputs=[shown, status])

        # re-drawn whenever the list changes: one row and one remove button per document
        gr.render(inputs=[shown])(document_rows)

    upload.upload(add, inputs=[upload, replace, shown, collection], outputs=[shown, status, upload])
    # the list is read again when the panel opens (documents may come from the CLI or the API too) and
    # when another collection is selected
    accordion.expand(rows, inputs=[collection], outputs=[shown])
    collection.change(rows, inputs=[collection], outputs=[shown])
    blocks.load(rows, inputs=[collection], outputs=[shown])
