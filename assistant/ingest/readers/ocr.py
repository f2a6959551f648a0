"""OCR of PDF pages with Debian's tesseract (``tesseract-ocr`` + ``tesseract-ocr-chi-sim``).

Pages are rendered with pypdfium2 and read by the ``tesseract`` command, one page at a time, with
a progress bar: on this kind of machine a full page of Chinese takes minutes. Tesseract's TSV
output places every word; its words are put together into :class:`~assistant.ingest.pagelines.Line`
objects in PDF coordinates (the median word height standing in for the font size), so OCR'd pages
go through the same repair as pages with a text layer: running headers dropped, lines joined
into paragraphs by their geometry. Glyph heights are too rough for heading levels, so OCR'd
headings come from numbering only.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from assistant.core.errors import CorpusError, UnreadableDocumentError
from assistant.ingest.document import ReadOptions
from assistant.ingest.pagelines import Line
from assistant.ingest.paragraphs import join_lines

_PACKAGES = {"chi_sim": "tesseract-ocr-chi-sim", "chi_tra": "tesseract-ocr-chi-tra", "eng": "tesseract-ocr-eng"}
#: seconds one page may take before OCR gives up on it (a full page of Chinese takes ~3 minutes here)
PAGE_TIMEOUT = 900


def tesseract_languages() -> set[str]:
    """Languages the installed tesseract can read (empty when tesseract is not installed)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return set()
    done = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=60, check=False)
    return {ln.strip() for ln in done.stdout.splitlines()[1:] if ln.strip()}


def _check_installed(languages: str) -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise CorpusError(
            "OCR is on (ASSISTANT_OCR) but tesseract is not installed: "
            "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
        )
    have = tesseract_languages()
    missing = [lang for lang in languages.split("+") if lang not in have]
    if missing:
        packages = " ".join(_PACKAGES.get(lang, f"tesseract-ocr-{lang.replace('_', '-')}") for lang in missing)
        raise CorpusError(
            f"tesseract cannot read {', '.join(missing)} (ASSISTANT_OCR_LANGUAGES): apt-get install {packages}"
        )
    return exe


def _lines(tsv: str, page_number: int, height: float, scale: float) -> list[Line]:
    """Tesseract TSV rows (one per word) -> lines in PDF points, y upwards."""
    words: dict[tuple[str, ...], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[0] == "5" and cols[11].strip():
            words.setdefault(tuple(cols[1:5]), []).append(cols)
    lines = []
    for group in words.values():
        text = group[0][11].strip()
        for cols in group[1:]:
            text = join_lines(text, cols[11].strip())
        left = min(int(c[6]) for c in group) * scale
        right = max(int(c[6]) + int(c[8]) for c in group) * scale
        top = min(int(c[7]) for c in group) * scale
        bottom = max(int(c[7]) + int(c[9]) for c in group) * scale
        size = round(statistics.median(int(c[9]) for c in group) * scale * 2) / 2
        lines.append(Line(text, left, right, height - bottom, height - top, size, page_number, ocr=True))
    return lines


def ocr_pages(path: Path, indexes: list[int], options: ReadOptions) -> dict[int, list[Line]]:
    """The text lines of the pages ``indexes`` (0-based) of the PDF ``path``, read by tesseract."""
    import pypdfium2 as pdfium
    from tqdm import tqdm

    from assistant.ingest.worker import allow_more_time

    exe = _check_installed(options.ocr_languages)
    out: dict[int, list[Line]] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        with tempfile.TemporaryDirectory(prefix="assistant-ocr-") as tmp:
            for index in tqdm(indexes, desc=f"OCR {path.name}", unit="page", disable=not options.progress):
                allow_more_time(PAGE_TIMEOUT)  # reading in a worker: each page may take this long
                image = Path(tmp) / f"page-{index + 1}.png"
                page = pdf[index]
                try:
                    height = page.get_height()
                    page.render(scale=options.ocr_dpi / 72, grayscale=True).to_pil().save(image)
                finally:
                    page.close()
                try:
                    done = subprocess.run(
                        [exe, str(image), "stdout", "-l", options.ocr_languages, "--psm", "3", "tsv"],
                        capture_output=True,
                        text=True,
                        timeout=PAGE_TIMEOUT,
                        check=False,
                    )
                except subprocess.TimeoutExpired as exc:
                    raise UnreadableDocumentError(
                        f"OCR of page {index + 1} of {path.name} took longer than {PAGE_TIMEOUT} s"
                    ) from exc
                if done.returncode != 0:
                    raise UnreadableDocumentError(
                        f"tesseract failed on page {index + 1} of {path.name}: {done.stderr.strip()[:300]}"
                    )
                out[index] = _lines(done.stdout, index + 1, height, 72 / options.ocr_dpi)
    finally:
        pdf.close()
    return out
