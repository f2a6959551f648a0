"""What a document may cost to read, checked before its reader opens it.

A PDF or a DOCX is compressed: a file of a megabyte can unpack to gigabytes, and its reader
unpacks it whole. These checks measure what the reader would unpack, in bounded memory, and
refuse a document over a limit with :class:`~assistant.core.errors.DocumentTooLargeError`
(HTTP 413, exit 3) naming the setting that sets it:

- **PDF**: every stream of the file is inflated in bounded steps, counting bytes without keeping
  them; all of them together (images aside) may come to ``max_content_bytes``
  (``ASSISTANT_MAX_CONTENT_BYTES``), and what one page draws (its content streams, the forms
  and patterns they use, each counted as often as the page lists it) to ``max_page_content_bytes``
  (``ASSISTANT_MAX_PAGE_CONTENT_BYTES``). The file is tokenised here, not by pdfium, which
  inflates a page's content whole when it loads the page.
- **DOCX**: ``word/document.xml`` is read as a stream (its bytes counted as they unpack, whatever
  the zip directory claims) up to ``max_xml_bytes`` (``ASSISTANT_MAX_DOCX_XML_BYTES``), and each
  table's cells, a cell spanning n grid columns counted n times, up to ``max_table_cells``
  (``ASSISTANT_MAX_TABLE_CELLS``): python-docx makes one object per grid column a cell spans.

What these checks cannot see (encrypted streams, content that draws the same form a million
times) is bounded by the reading worker's time and memory (:mod:`assistant.ingest.worker`).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from assistant.core.errors import DocumentTooLargeError
from assistant.ingest.document import ReadOptions

_MB = 1024 * 1024
#: the bytes inflated per step while counting (memory stays at about this)
_STEP = 1 << 20
_OBJECT = re.compile(rb"(\d{1,10})\s+(\d{1,5})\s+obj\b")
_STREAM = re.compile(rb"\bstream(?:\r\n|\n|\r)")
_ENDSTREAM = b"endstream"
#: filters that only images use: their data is not unpacked to read text
_IMAGE_FILTERS = {"DCTDecode", "DCT", "JPXDecode", "CCITTFaxDecode", "CCF", "JBIG2Decode"}
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _mb(n: int) -> str:
    return f"{n / _MB:.0f} MB" if n >= 10 * _MB else f"{n / _MB:.1f} MB"


# ---- PDF ----------------------------------------------------------------------------------------


@dataclass
class _Stream:
    objid: int
    size: int  # decompressed bytes (capped: at most one more than the limit it was counted against)
    image: bool


@dataclass
class PdfContent:
    """The streams of a PDF file by object number, with their unpacked sizes."""

    streams: dict[int, _Stream] = field(default_factory=dict)
    total: int = 0


def _pdf_object(data: bytes) -> Any:
    """The first PDF object in ``data`` (a dictionary, as pdfminer's parser reads it), or None."""
    from pdfminer.pdfparser import PDFParser

    try:
        parser = PDFParser(io.BytesIO(data + b" endobj "))  # a keyword after it: the parser reads ahead
        _, obj = parser.nextobject()
    except Exception:  # any tokenising failure: not a dictionary we can read
        return None
    return obj


def _name(value: Any) -> str:
    return str(getattr(value, "name", value))


def _filters(attrs: dict[str, Any]) -> list[str]:
    value = attrs.get("Filter", attrs.get("F"))
    values = value if isinstance(value, list) else [value] if value is not None else []
    return [_name(v) for v in values]


def _raw_length(attrs: dict[str, Any], lengths: dict[int, int]) -> int | None:
    length = attrs.get("Length")
    if isinstance(length, int):
        return length
    objid = getattr(length, "objid", None)
    return lengths.get(objid) if isinstance(objid, int) else None


def _indirect_lengths(data: bytes) -> dict[int, int]:
    """Objects that are a bare integer (``12 0 obj 4711 endobj``): stream lengths given by reference."""
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(rb"(\d{1,10})\s+\d{1,5}\s+obj\s*(\d{1,12})\s*endobj", data)}


def _streams(data: bytes) -> Iterator[tuple[int, dict[str, Any], bytes]]:
    """(object number, dictionary, raw data) of each stream in the file's bytes, in file order."""
    import bisect

    lengths = _indirect_lengths(data)
    headers = [(m.end(), int(m.group(1))) for m in _OBJECT.finditer(data)]
    ends = [end for end, _ in headers]
    done = 0  # where the last stream's data ended: a "stream" inside it is data, not a keyword
    for match in _STREAM.finditer(data):
        if match.start() < done:
            continue
        at = bisect.bisect_right(ends, match.start()) - 1
        if at < 0 or match.start() - ends[at] > 65536:
            continue
        attrs = _pdf_object(data[ends[at] : match.start()])
        if not isinstance(attrs, dict):
            continue
        start = match.end()
        length = _raw_length(attrs, lengths)
        end = start + length if length is not None and 0 <= length <= len(data) - start else -1
        if end < 0 or _ENDSTREAM not in data[end : end + 64]:
            # a wrong or missing /Length: up to the next endstream, as pdfium does
            found = data.find(_ENDSTREAM, start)
            end = found if found >= 0 else len(data)
        done = end
        yield headers[at][1], attrs, data[start:end]


def _inflate(data: bytes, cap: int) -> Iterator[bytes]:
    """Inflated pieces of ``data`` until ``cap`` bytes came out (zlib, or raw deflate when the header is broken)."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        inflater = zlib.decompressobj(wbits)
        produced = 0
        pending = data if wbits > 0 else data[2:]
        try:
            while pending and produced <= cap:
                piece = inflater.decompress(pending, _STEP)
                pending = inflater.unconsumed_tail
                produced += len(piece)
                yield piece
                if inflater.eof or not piece:
                    break
            return
        except zlib.error:
            if produced:
                return  # a damaged end: what came out is what the reader gets too
    return


def _run_length(data: bytes, cap: int) -> Iterator[bytes]:
    i, produced = 0, 0
    while i < len(data) and produced <= cap:
        n = data[i]
        if n == 128:
            return
        if n < 128:
            piece = data[i + 1 : i + 2 + n]
            i += n + 2
        else:
            piece = data[i + 1 : i + 2] * (257 - n)
            i += 2
        produced += len(piece)
        yield piece


def _lzw(data: bytes, cap: int) -> Iterator[bytes]:
    from pdfminer.lzw import LZWDecoder

    produced = 0
    for piece in LZWDecoder(io.BytesIO(data)).run():
        produced += len(piece)
        yield piece
        if produced > cap:
            return


def _decoded(data: bytes, name: str, cap: int) -> Iterator[bytes]:
    """The output of one filter, in pieces, stopping once past ``cap`` bytes."""
    import binascii

    if name in ("FlateDecode", "Fl"):
        yield from _inflate(data, cap)
    elif name in ("LZWDecode", "LZW"):
        yield from _lzw(data, cap)
    elif name in ("RunLengthDecode", "RL"):
        yield from _run_length(data, cap)
    elif name in ("ASCIIHexDecode", "AHx"):
        hexdigits = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">", 1)[0])
        yield binascii.unhexlify(hexdigits[: len(hexdigits) // 2 * 2])
    elif name in ("ASCII85Decode", "A85"):
        from pdfminer.ascii85 import ascii85decode

        try:
            yield ascii85decode(data)
        except Exception:
            yield data
    else:
        yield data  # no filter, a crypt filter, or one we do not know: its data as stored


def unpacked_size(data: bytes, filters: list[str], cap: int) -> int:
    """How many bytes ``data`` unpacks to through ``filters``, counted up to a little past ``cap``."""
    try:
        for name in filters[:-1]:  # a chain: the first steps' output is small in practice, kept to cap
            data = b"".join(_decoded(data, name, cap))[: cap + 1]
        return sum(len(piece) for piece in _decoded(data, filters[-1] if filters else "", cap))
    except Exception:  # a filter that fails on damaged data: the reader sees little of it too
        return len(data)


def pdf_content(path: Path, max_bytes: int) -> PdfContent:
    """Every stream of the PDF at ``path`` with its unpacked size; stops counting past ``max_bytes`` in all."""
    content = PdfContent()
    data = path.read_bytes()
    for objid, attrs, raw in _streams(data):
        filters = _filters(attrs)
        image = _name(attrs.get("Subtype")) == "Image" or any(f in _IMAGE_FILTERS for f in filters)
        size = len(raw) if image else unpacked_size(raw, filters, max_bytes - content.total)
        previous = content.streams.get(objid)
        content.streams[objid] = _Stream(objid, max(size, previous.size if previous else 0), image)
        if not image:
            content.total += size
            if content.total > max_bytes:
                break
    return content


def _page_streams(page: Any) -> Iterator[int]:
    """Object numbers of what a page draws: its content streams (each time it lists them), the forms
    and patterns of its resources and of theirs (each once)."""
    from pdfminer.pdftypes import PDFObjRef, PDFStream

    for stream in page.contents:
        if isinstance(stream, PDFStream) and stream.objid is not None:
            yield stream.objid
    seen: set[int] = set()
    todo: list[Any] = [page.resources]
    while todo:
        obj = todo.pop()
        if isinstance(obj, PDFObjRef):
            if obj.objid in seen:
                continue
            seen.add(obj.objid)
            obj = obj.resolve()
        if isinstance(obj, PDFStream):
            # a form or a tiling pattern is content drawn with the page; images, ICC profiles are not parsed
            if _name(obj.attrs.get("Subtype")) == "Form" or "PatternType" in obj.attrs:
                if obj.objid is not None:
                    yield obj.objid
                todo.append(obj.attrs.get("Resources"))
            continue
        if isinstance(obj, dict):
            # fonts are loaded once a document, and images are not unpacked to read text
            todo.extend(v for k, v in obj.items() if k not in ("Font", "Parent", "ColorSpace"))
        elif isinstance(obj, list):
            todo.extend(obj)


def check_pdf(path: Path, options: ReadOptions) -> None:
    """Refuse a PDF whose content unpacks to more than the limits (see the module docstring)."""
    content = pdf_content(path, options.max_content_bytes)
    limit = options.max_page_content_bytes
    if any(not s.image and s.size > limit for s in content.streams.values()):
        # a stream over a page's limit alone: is it on a page? (pages are walked only then)
        for number, size in _page_sizes(path, content):
            if size > limit:
                raise DocumentTooLargeError(
                    f"{path.name}: page {number} draws {_mb(size)} or more of unpacked content; a page may draw "
                    f"at most {_mb(limit)} (ASSISTANT_MAX_PAGE_CONTENT_BYTES): refused as a decompression bomb"
                )
    if content.total > options.max_content_bytes:
        raise DocumentTooLargeError(
            f"{path.name} unpacks to more than {_mb(options.max_content_bytes)} of PDF content; documents may "
            f"unpack to at most that (ASSISTANT_MAX_CONTENT_BYTES): refused as a decompression bomb"
        )


def _page_sizes(path: Path, content: PdfContent) -> Iterator[tuple[int, int]]:
    """(page number, unpacked bytes it draws) for each page pdfminer finds."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    with path.open("rb") as f:
        try:
            document = PDFDocument(PDFParser(f))
            for number, page in enumerate(PDFPage.create_pages(document), start=1):
                sizes = content.streams
                yield number, sum(sizes[i].size for i in _page_streams(page) if i in sizes)
        except DocumentTooLargeError:
            raise
        except Exception:
            # a file pdfminer cannot walk: a stream over the page limit cannot be placed on a page,
            # so it counts as one page's
            largest = max((s.size for s in content.streams.values() if not s.image), default=0)
            yield 1, largest


# ---- DOCX ---------------------------------------------------------------------------------------


class _Counted(io.RawIOBase):
    """A zip member read through a byte count that stops at the limit."""

    def __init__(self, member: IO[bytes], limit: int, refuse: Any) -> None:
        self.member, self.limit, self.refuse, self.count = member, limit, refuse, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.member.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            self.refuse()
        buffer[: len(data)] = data
        return len(data)


def _span(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1  # python-docx reads a bad span as 1 too... or fails: the reader says so


def check_docx(path: Path, options: ReadOptions) -> None:
    """Refuse a DOCX whose document part or tables are over the limits (see the module docstring)."""
    import zipfile

    from lxml import etree

    xml_limit, cell_limit = options.max_xml_bytes, options.max_table_cells

    def too_big() -> None:
        raise DocumentTooLargeError(
            f"{path.name}: its text (word/document.xml) unpacks to more than {_mb(xml_limit)}; documents may "
            "unpack to at most that (ASSISTANT_MAX_DOCX_XML_BYTES)"
        )

    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo("word/document.xml")
        except KeyError:
            return  # the reader says what is missing
        if info.file_size > xml_limit:
            too_big()
        tables: list[int] = []  # cells counted so far in each open table (nested ones apart)
        with archive.open(info) as member:
            stream = io.BufferedReader(_Counted(member, xml_limit, too_big))
            try:
                for event, element in etree.iterparse(stream, events=("start", "end"), huge_tree=False,
                                                      resolve_entities=False, no_network=True):
                    tag = element.tag
                    if tag == f"{_W}tbl":
                        if event == "start":
                            tables.append(0)
                        else:
                            tables.pop()
                    elif tag == f"{_W}gridSpan" and event == "end" and tables:
                        tables[-1] += _span(element.get(f"{_W}val")) - 1
                    elif tag == f"{_W}tc" and event == "end" and tables:
                        tables[-1] += 1
                    if tables and tables[-1] > cell_limit:
                        raise DocumentTooLargeError(
                            f"{path.name} has a table of more than {cell_limit} cells (merged cells counted once "
                            "per column they span); tables may have at most that (ASSISTANT_MAX_TABLE_CELLS)"
                        )
                    if event == "end":
                        element.clear(keep_tail=True)  # memory stays flat however long the part is
            except etree.XMLSyntaxError:
                return  # broken XML: python-docx refuses it with its own message
