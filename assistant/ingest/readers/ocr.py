"""OCR of PDF pages with Debian's tesseract (``tesseract-ocr`` + ``tesseract-ocr-chi-sim``).

Pages are rendered with pypdfium2 and read by the ``tesseract`` command, one page at a time, with
a progress bar: on this kind of machine a full page of Chinese takes minutes. The text it returns
is plain text, so its paragraphs are found and repaired like any text file's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from assistant.errors import CorpusError
from assistant.ingest.document import Block
from assistant.ingest.paragraphs import split_paragraphs
from assistant.ingest.read import ReadOptions

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
        raise CorpusError("OCR is on (ASSISTANT_OCR) but tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-chi-sim")
    have = tesseract_languages()
    missing = [lang for lang in languages.split("+") if lang not in have]
    if missing:
        packages = " ".join(_PACKAGES.get(lang, f"tesseract-ocr-{lang.replace('_', '-')}") for lang in missing)
        raise CorpusError(f"tesseract cannot read {', '.join(missing)} (ASSISTANT_OCR_LANGUAGES): apt-get install {packages}")
    return exe


def ocr_pages(path: Path, indexes: list[int], options: ReadOptions) -> dict[int, list[Block]]:
    """The paragraphs of the pages ``indexes`` (0-based) of the PDF ``path``, read by tesseract."""
    import pypdfium2 as pdfium
    from tqdm import tqdm

    from assistant.ingest.repair import repair_paragraphs

    exe = _check_installed(options.ocr_languages)
    out: dict[int, list[Block]] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        with tempfile.TemporaryDirectory(prefix="assistant-ocr-") as tmp:
            for index in tqdm(indexes, desc=f"OCR {path.name}", unit="page", disable=not options.progress):
                image = Path(tmp) / f"page-{index + 1}.png"
                page = pdf[index]
                try:
                    page.render(scale=options.ocr_dpi / 72, grayscale=True).to_pil().save(image)
                finally:
                    page.close()
                try:
                    done = subprocess.run(
                        [exe, str(image), "stdout", "-l", options.ocr_languages, "--psm", "3"],
                        capture_output=True, text=True, timeout=PAGE_TIMEOUT, check=False,
                    )
                except subprocess.TimeoutExpired as exc:
                    raise CorpusError(f"OCR of page {index + 1} of {path.name} took longer than {PAGE_TIMEOUT} s") from exc
                if done.returncode != 0:
                    raise CorpusError(f"tesseract failed on page {index + 1} of {path.name}: {done.stderr.strip()[:300]}")
                paragraphs = repair_paragraphs(split_paragraphs(done.stdout).paragraphs)
                out[index] = [Block(p, page=index + 1) for p in paragraphs]
    finally:
        pdf.close()
    return out
