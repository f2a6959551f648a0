"""Page accuracy: whether the page a citation names holds what it cites, in PDF documents.

A question's gold phrases name its gold passages (:mod:`assistant.evaluation.dataset`). For each
gold passage of a PDF, a citation resting on the sentences that hold the phrase names the pages of
the passage's location narrowed to those sentences (:meth:`~assistant.core.types.Passage.located`,
as the citation check does). The first page named is right when pypdfium2's own text of that page
holds the phrase (whitespace aside): the check does not use the reader that made the locations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.types import Passage
from assistant.evaluation.dataset import Question, squash
from assistant.ingest.passages import passage_sentences


@dataclass(frozen=True)
class PageCheck:
    """One gold phrase in one passage: the pages its citation names, and whether they hold it."""

    question: str
    phrase: str
    passage_id: str
    pages: tuple[int, ...]
    #: the first page named holds the phrase
    right: bool
    #: one of the pages named holds it
    on_a_page: bool


@dataclass
class PageAccuracy:
    """Page accuracy over a question set's gold passages in PDF documents."""

    checks: list[PageCheck] = field(default_factory=list)
    #: gold passages of PDF documents that have no location
    unlocated: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of checks whose first named page holds the phrase (a passage without a location counts wrong)."""
        total = len(self.checks) + len(self.unlocated)
        return sum(c.right for c in self.checks) / total if total else 0.0

    @property
    def on_a_page(self) -> float:
        """Share of checks where one of the named pages holds the phrase."""
        total = len(self.checks) + len(self.unlocated)
        return sum(c.on_a_page for c in self.checks) / total if total else 0.0

    def summary(self) -> str:
        wrong = [c for c in self.checks if not c.right]
        lines = [f"page accuracy {self.accuracy:.3f} ({sum(c.right for c in self.checks)} of "
                 f"{len(self.checks) + len(self.unlocated)} gold phrases in PDF passages); "
                 f"on one of the pages named: {self.on_a_page:.3f}"]
        lines += [f"  wrong: {c.question} {c.passage_id} pages {list(c.pages)}: {c.phrase}" for c in wrong]
        lines += [f"  no location: {p}" for p in self.unlocated]
        return "\n".join(lines)


def page_texts(path: Path) -> list[str]:
    """Each page's text as pypdfium2 gives it, whitespace removed and case-folded."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for page in pdf:
            textpage = page.get_textpage()
            out.append(squash(textpage.get_text_range()))
            textpage.close()
            page.close()
        return out
    finally:
        pdf.close()


def page_accuracy(passages: Sequence[Passage], questions: Sequence[Question], corpus_dir: Path) -> PageAccuracy:
    """Check the pages every gold passage of a PDF document names (see the module docstring)."""
    result = PageAccuracy()
    texts: dict[str, list[str]] = {}
    pdfs = [p for p in passages if p.source.lower().endswith(".pdf")]
    for question in questions:
        for phrase in question.gold:
            wanted = squash(phrase)
            for passage in (p for p in pdfs if wanted in squash(p.text)):
                if passage.location is None or not passage.location.pages:
                    result.unlocated.append(passage.id)
                    continue
                holding = [s for s in passage_sentences(passage) if wanted in squash(s)] or [phrase]
                located = passage.located(holding)
                pages = located.pages if located is not None else ()
                if passage.source not in texts:
                    texts[passage.source] = page_texts(corpus_dir / passage.source)
                on = [wanted in texts[passage.source][n - 1] for n in pages]
                result.checks.append(PageCheck(question.id, phrase, passage.id, pages, bool(on) and on[0], any(on)))
    return result
