"""``/v1/documents``: list, add (multipart upload) and remove the documents the assistant answers from;
fetch a document's file as it was added, and draw its pages with a passage marked.

The upload is read by the route itself, after the API key is checked (a route that declared a file
parameter would have the whole body read first), and the body limit for this path is
``ASSISTANT_MAX_UPLOAD_BYTES`` (:class:`~assistant.api.limits.UploadLimit`), enforced while the body
streams in. Each change runs in a worker thread: it reads the document, embeds its passages and
publishes a new index, which the server answers from at once.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from assistant.api.deps import get_settings, get_workers, use_collection
from assistant.api.schemas import COMMON_ERRORS, CollectionParam, error_responses
from assistant.api.workers import Job
from assistant.core.errors import ChangeTimeoutError, DocumentTooLargeError, InvalidInputError, PageNotFoundError
from assistant.storage.documents import MEDIA_TYPES, DocumentInfo, NewDocument
from assistant.storage.pageimages import MAX_WIDTH, MIN_WIDTH, PageImages

PATH = "/v1/documents"
#: files one upload may carry
MAX_FILES = 20

UPLOAD_DOC = (
    "Send `multipart/form-data` with one or more `file` parts (.pdf, .docx, .html, .txt, .md; the type is "
    "checked by content). All files are added in one change, or none: the new index replaces the old one "
    "atomically and is answered from at once. A document's id is its file name without the extension "
    "(characters other than letters, digits, `-_.` become `-`; one over 200 bytes of UTF-8 is cut and ends in 8 hex "
    "digits of a hash of the whole). An id that exists is **409** unless "
    "`replace=true`, which replaces that document in the same change. Other refusals: **413** an upload over "
    "`ASSISTANT_MAX_UPLOAD_BYTES` (refused while it streams in) or a document over a reading limit (bytes, "
    "pages, unpacked PDF content per page and in all, .docx text size and table cells, passages, reading time "
    "and memory: each names its `ASSISTANT_MAX_*` setting); **415** not a supported document type (an image, a "
    "spreadsheet, a PDF named "
    ".docx, ...); **422** unreadable (damaged, password-protected, empty, no text layer) or no `file` part. A file "
    "whose bytes (sha256) a document holds already is not added again: the answer names that document under "
    "`duplicates` (status 200 when nothing else changed). A change stops, leaving everything as it was, when its "
    "client disconnects or after `ASSISTANT_CHANGE_TIMEOUT` (**504**)."
)
UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                 "description": "the document(s) to add"},
                        "collection": {"type": "string", "description": "the collection (default: 'default')"},
                    },
                }
            }
        },
    }
}


PAGE_DOC = (
    "Page `page` (1-based) of the document as a PNG image, `width` pixels wide (default "
    "`ASSISTANT_PAGE_IMAGE_WIDTH`, 1000), with the boxes of passage `highlight` (a passage id of this "
    "document, URL-encoded: `#` is `%23`) filled in yellow: where a citation's passage stands. Drawn from the "
    "PDF with pypdfium2 and cached on disk by document hash, page, width and marks. **404** no such document, "
    "page or passage of this document, or a document without page images (text, HTML; a Word document when "
    "LibreOffice is not installed to convert it); **422** a width out of bounds."
)
FILE_DOC = (
    "The document's file exactly as it was added (its sha256 is the listing's), with its content type: "
    "a PDF shown inline, other types as a download."
)
#: what the file route adds to every response: the type as sent, and no HTML or script of a document run here
FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class IndexChange(BaseModel):
    passages: int
    embedded: int
    reused: int
    seconds: float
    build: str


class DocumentChange(BaseModel):
    added: list[DocumentInfo]
    removed: list[DocumentInfo]
    #: documents of the collection whose bytes an uploaded file held: answered with them, not added again
    duplicates: list[DocumentInfo]
    #: the build the change published (when nothing changed: the live one, nothing embedded)
    index: IndexChange


def _change_job(request: Request) -> Job:
    """A change's work: stopped when its client disconnects, or after ``ASSISTANT_CHANGE_TIMEOUT``
    (before its commit point: the documents and the index stay as they were)."""
    timeout = get_settings(request).change_timeout
    error = ChangeTimeoutError(f"the document change took longer than {timeout:g} s (ASSISTANT_CHANGE_TIMEOUT) "
                               "and was stopped; nothing was changed")
    return get_workers(request).job(timeout, error)


async def _uploads(request: Request) -> tuple[list[UploadFile], Any]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInputError(
            f"send the document as multipart/form-data with a 'file' part (got Content-Type {content_type!r})"
        )
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 10)
    files = [value for key, value in form.multi_items() if key == "file" and isinstance(value, UploadFile)]
    if not files:
        await form.close()
        raise InvalidInputError("the upload has no 'file' part holding a document")
    return files, form


def router() -> APIRouter:
    """The document routes (behind the API key, when keys are set, like every ``/v1`` route)."""
    api = APIRouter(tags=["documents"])

    @api.get(PATH, response_model=DocumentList, summary="The documents the assistant answers from",
             responses=error_responses(*COMMON_ERRORS, 404, 422))
    def list_documents(request: Request, collection: CollectionParam = None) -> dict[str, Any]:
        """Each document: id, source file, type, passages in the index, pages (PDF), date added, sha256.
        The same JSON as `assistant docs --json`."""
        with use_collection(request, collection) as use:
            return {"documents": [d.model_dump() for d in use.documents.documents()]}

    @api.get(PATH + "/{doc_id}", response_model=DocumentInfo, summary="One document by id",
             responses=error_responses(*COMMON_ERRORS, 404, 422))
    def get_document(doc_id: str, request: Request, collection: CollectionParam = None) -> dict[str, Any]:
        with use_collection(request, collection) as use:
            return use.documents.get(doc_id).model_dump()

    @api.get(PATH + "/{doc_id}/file", response_class=FileResponse, summary="The document's file, byte for byte",
             description=FILE_DOC, responses={200: {"content": {t: {} for t in sorted(set(MEDIA_TYPES.values()))},
                                                    "description": "the file"},
                                              **error_responses(*COMMON_ERRORS, 404, 409, 422, 503)})
    def document_file(doc_id: str, request: Request, collection: CollectionParam = None) -> FileResponse:
        with use_collection(request, collection) as use:
            found = use.documents.file(doc_id)
        inline = found.media_type == "application/pdf"
        return FileResponse(found.path, media_type=found.media_type, filename=FilePath(found.info.source).name,
                            content_disposition_type="inline" if inline else "attachment", headers=FILE_HEADERS)

    @api.get(PATH + "/{doc_id}/pages/{page}", response_class=FileResponse, summary="A page as a PNG image",
             description=PAGE_DOC, responses={200: {"content": {"image/png": {}}, "description": "the page"},
                                              **error_responses(*COMMON_ERRORS, 404, 422, 503)})
    def page_image(doc_id: str, page: int, request: Request,
                   width: Annotated[int | None, Query(ge=MIN_WIDTH, le=MAX_WIDTH)] = None,
                   highlight: Annotated[str | None, Query(max_length=400)] = None,
                   collection: CollectionParam = None) -> FileResponse:
        with use_collection(request, collection) as use:
            document = use.documents.get(doc_id)
            assistant = use.assistant
            passage = assistant.passage(highlight) if highlight else None
            if highlight and passage is None:
                raise PageNotFoundError(f"no passage {highlight!r} in the index (to mark on {doc_id!r})")
            image = PageImages(assistant.settings).render(document, page, width=width, passage=passage)
        return FileResponse(image.path, media_type="image/png",
                            headers={"X-Page-Count": str(image.pages), "X-Marked-Boxes": str(image.marked)})

    @api.post(PATH, status_code=201, response_model=DocumentChange, summary="Add documents (multipart upload)",
              description=UPLOAD_DOC, openapi_extra=UPLOAD_SCHEMA,
              responses={200: {"model": DocumentChange,
                               "description": "every file held the bytes of a document of the collection already: "
                               "nothing changed, `duplicates` names those documents"},
                         **error_responses(*COMMON_ERRORS, 404, 409, 413, 415, 422, 499, 503, 504)})
    async def add_documents(request: Request, replace: bool = False) -> JSONResponse:
        limit = get_settings(request).max_upload_bytes
        files, form = await _uploads(request)
        try:
            for upload in files:
                # the body limit allows for the multipart framing; the file itself gets the exact limit
                if upload.size is not None and upload.size > limit:
                    raise DocumentTooLargeError(
                        f"{upload.filename} is {upload.size} bytes; uploads may be at most {limit} bytes "
                        "(ASSISTANT_MAX_UPLOAD_BYTES)"
                    )
            documents = [NewDocument(upload.file, upload.filename or "upload") for upload in files]
            name = form.get("collection")
            with use_collection(request, name if isinstance(name, str) else None) as use:
                collection = use.documents
                job = _change_job(request)
                try:
                    report = await job.run(lambda: collection.add(documents, replace=replace, check=job.cancel.check),
                                           receive=request.receive)
                finally:
                    job.close()
        finally:
            await form.close()
        return JSONResponse(report.to_json(), status_code=201 if report.changed else 200)

    @api.delete(PATH + "/{doc_id}", response_model=DocumentChange, summary="Remove a document",
                responses=error_responses(*COMMON_ERRORS, 404, 409, 422, 499, 503, 504))
    async def remove_document(doc_id: str, request: Request, collection: CollectionParam = None) -> dict[str, Any]:
        """Its file and its passages go in one change (nothing is re-embedded). **404** no such document;
        **409** it is the last one (an index needs passages)."""
        with use_collection(request, collection) as use:
            documents = use.documents
            job = _change_job(request)
            try:
                report = await job.run(lambda: documents.remove(doc_id, check=job.cancel.check),
                                       receive=request.receive)
            finally:
                job.close()
        return report.to_json()

    return api
