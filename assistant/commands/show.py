"""``assistant show PASSAGE_ID [--png OUT] [--width W]``: a passage, where it stands, and its page drawn."""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from pathlib import Path

from assistant.commands import Subparsers, add_command
from assistant.core.errors import InvalidInputError, NotFoundError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.storage.documents import get_document
from assistant.storage.index import load_index
from assistant.storage.pageimages import PageImages

DESCRIPTION = """\
Print a passage (an id from `assistant search`, `assistant ask --json` or the API) with its document,
where it stands there (PDF pages; DOCX paragraphs and pages; HTML anchor; text lines) and its
section. --png OUT writes the passage's page as a PNG image with the passage marked in yellow
(the first page it is on, or --page N): the same image as GET /v1/documents/ID/pages/N?highlight=...
PDFs have page images; Word documents only when LibreOffice is installed to convert them.

--json prints {"passage": {"id", "source", "section", "text", "kind", "title", "location"},
"document": {...}, "png": OUT or null}.

examples:
  assistant show 'report#item-05'
  assistant show 'report#item-05' --png page.png --width 1200
  assistant show 'report#item-05' --png page2.png --page 2
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "show", "a passage with its document, page and section; its page as a PNG",
                         DESCRIPTION)
    parser.add_argument("passage_id", metavar="PASSAGE_ID", help="the passage's id, e.g. 'report#item-05' (quote it)")
    parser.add_argument("--png", metavar="OUT", help="write the passage's page, the passage marked, as a PNG here")
    parser.add_argument("--width", type=int, default=None, metavar="W",
                        help="the image's width in pixels, 200-2000 (default: ASSISTANT_PAGE_IMAGE_WIDTH, 1000)")
    parser.add_argument("--page", type=int, default=None, metavar="N",
                        help="which page to draw (default: the first the passage stands on)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    passage = next((p for p in load_index(settings).passages if p.id == args.passage_id), None)
    if passage is None:
        raise NotFoundError(f"no passage {args.passage_id!r} in the index; `assistant search` shows passage ids")
    document = get_document(settings, Path(passage.source).stem)  # a passage id starts with its document's
    written, page = None, None
    if args.png:
        pages = passage.location.pages if passage.location is not None else ()
        page = args.page or (pages[0] if pages else 1)
        image = PageImages(settings).render(document, page, width=args.width, passage=passage)
        try:
            shutil.copyfile(image.path, args.png)
        except OSError as exc:
            raise InvalidInputError(f"cannot write {args.png}: {exc.strerror or exc}") from exc
        written = args.png
    if args.json:
        payload = {"passage": passage.to_dict(), "document": document.model_dump(), "png": written}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(describe(passage, document.type))
    if written:
        print(f"\nwrote page {page} of {document.id}, the passage marked, to {written}")
    return 0


def describe(passage: Passage, kind: str) -> str:
    """The passage's id, its document, where it stands there, its section, then its text."""
    where = passage.location.label() if passage.location is not None else ""
    head = [passage.id, f"document: {passage.source} ({kind})" + (f" · {passage.title}" if passage.title else "")]
    head.append(f"where: {where}" if where else "where: not known (the document was read without locations)")
    head.append(f"section: {passage.section}")
    return "\n".join(head) + "\n\n" + textwrap.indent(passage.text, "    ")
