"""Read one file into a :class:`Document`, choosing the reader by the file's content.

The content decides, not the name: the first bytes (``%PDF-``, a zip archive holding
``word/document.xml``, HTML markup, decodable text) pick the reader. A file whose extension
promises a binary format its content is not (``report.pdf`` holding text, ``notes.docx`` that is
an Excel workbook) is refused with a message naming both; so are encrypted Office files, legacy
``.doc`` files, images and archives. Each limit (file size, pages, unpacked size) is checked
before the expensive reading starts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from assistant.core.errors import CorpusError, DocumentTooLargeError, UnreadableDocumentError, UnsupportedDocumentError
from assistant.ingest.document import Document, ReadOptions

#: file extensions the corpus folder is searched for
SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm")
#: what each known extension promises
_SUFFIX_KINDS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
}
_BINARY = ("pdf", "docx")

_KIND_NAMES = {"pdf": "a PDF", "docx": "a Word document (.docx)", "html": "an HTML page", "text": "plain text"}
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: legacy Office, or an encrypted OOXML package
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "a program (ELF)",
    b"MZ": "a Windows program",
    b"%!PS": "a PostScript file",
    b"{\\rtf": "an RTF document (save it as .docx)",
}
_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableDocumentError(f"{path.name} is a damaged zip archive (not a readable .docx): {exc}") from exc
    if "word/document.xml" in names:
        return "docx"
    if any(n.startswith("xl/") for n in names):
        raise UnsupportedDocumentError(
            f"{path.name} is an Excel workbook, which is not a supported document; save it as PDF or .docx"
        )
    if any(n.startswith("ppt/") for n in names):
        raise UnsupportedDocumentError(
            f"{path.name} is a PowerPoint file, which is not a supported document; save it as PDF"
        )
    if "mimetype" in names and "content.xml" in names:
        raise UnsupportedDocumentError(f"{path.name} is an OpenDocument file; save it as .docx or PDF")
    raise UnsupportedDocumentError(f"{path.name} is a zip archive without a Word document in it (no word/document.xml)")


def decode_text(path: Path, data: bytes) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with a BOM, or GB18030 for Chinese files."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableDocumentError(f"{path.name} starts like UTF-16 text but does not decode as it") from exc
    if b"\x00" in data[:4096]:
        raise UnsupportedDocumentError(f"{path.name} holds binary data, not a document (PDF, DOCX, HTML or text)")
    for encoding in _TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnsupportedDocumentError(f"{path.name} is neither UTF-8 nor GB18030 text")


def _looks_like_html(text: str) -> bool:
    head = text[:4096].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")):
        return True
    return head.startswith("<") and any(tag in head for tag in ("<body", "<head", "<article", "<main"))


def detect_kind(path: Path, head: bytes) -> str:
    """``pdf``, ``docx``, ``html`` or ``text`` from the first bytes of a file; CorpusError for anything else."""
    if not head:
        raise UnreadableDocumentError(f"{path.name} is empty (0 bytes)")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    if head.startswith(_CFB):
        with path.open("rb") as f:
            directory = f.read(1 << 20)
        if _ENCRYPTED_PACKAGE in directory:
            raise UnreadableDocumentError(
                f"{path.name} is a password-protected Office document; remove the password and save it again"
            )
        raise UnsupportedDocumentError(f"{path.name} is a legacy Office file (.doc/.xls/.ppt); save it as .docx or PDF")
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise UnsupportedDocumentError(f"{path.name} is {what}, not a document (PDF, DOCX, HTML or text)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        sample = head.decode("utf-16", errors="ignore")
    elif b"\x00" in head[:4096]:
        raise UnsupportedDocumentError(f"{path.name} holds binary data, not a document (PDF, DOCX, HTML or text)")
    else:
        sample = head.decode("utf-8", errors="ignore")  # only sniffed here; decoded strictly when read
    return "html" if _looks_like_html(sample) else "text"


def _check_size(path: Path, options: ReadOptions) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > options.max_bytes:
        raise DocumentTooLargeError(
            f"{path.name} is {_megabytes(size)}; documents may be at most {_megabytes(options.max_bytes)} "
            "(ASSISTANT_MAX_DOCUMENT_BYTES)"
        )
    return size


def read_document(path: Path, options: ReadOptions | None = None) -> Document:
    """Read ``path`` with the reader its content calls for (see the module docstring)."""
    options = options or ReadOptions()
    _check_size(path, options)
    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from exc
    kind = detect_kind(path, head)
    claimed = _SUFFIX_KINDS.get(path.suffix.lower())
    # HTML and text are read alike; a binary format must be what its name says, either way round
    if claimed and claimed != kind and (claimed in _BINARY or kind in _BINARY):
        raise UnsupportedDocumentError(
            f"{path.name} is named like {_KIND_NAMES[claimed]} but its content is {_KIND_NAMES[kind]}"
        )
    try:
        return _read(path, kind, options)
    except CorpusError:
        raise
    except MemoryError as exc:
        raise DocumentTooLargeError(f"{path.name} needs more memory to read than this server has") from exc
    except Exception as exc:
        # whatever else a reader raises on a file it chokes on is that file's fault (HTTP 422, exit 3)
        raise unreadable(path.name, exc) from exc


def unreadable(name: str, exc: BaseException) -> UnreadableDocumentError:
    """The error for a document a reader failed on in an unforeseen way (a library's own error)."""
    detail = " ".join(str(exc).split())[:200]
    return UnreadableDocumentError(
        f"{name} could not be read: its reader failed ({type(exc).__name__}{': ' + detail if detail else ''})"
    )


def _read(path: Path, kind: str, options: ReadOptions) -> Document:
    from assistant.ingest import limits

    if kind == "pdf":
        from assistant.ingest.readers.pdf import read_pdf

        limits.check_pdf(path, options)
        return read_pdf(path, options)
    if kind == "docx":
        from assistant.ingest.readers.docx import read_docx

        limits.check_docx(path, options)
        return read_docx(path, options)
    data = path.read_bytes()
    text = decode_text(path, data)
    if kind == "html":
        from assistant.ingest.readers.html import read_html

        return read_html(path, text, options)
    from assistant.ingest.readers.text import read_text

    return read_text(path, text)
