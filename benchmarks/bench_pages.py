"""Page images and page accuracy: how fast a cited page is drawn, and how often it is the right page.

    .venv/bin/python benchmarks/bench_pages.py [--repeat 7] [--width 1000] [--no-http]

Speed, on the report as a two-column A4 PDF (tests/docgen.py), page 1 at ``--width`` pixels with a
passage marked (``assistant/storage/pageimages.py``), median of ``--repeat`` runs:

- baseline: pypdfium2 alone opening the PDF, drawing the page and writing a PNG (what any page image costs);
- first render: ``PageImages.render`` with an empty cache (open, draw, mark, write the PNG into the cache);
- cached: ``PageImages.render`` again (the file is there);
- the same two through ``GET /v1/documents/report/pages/1?width=…&highlight=…`` on a real server
  (loopback, one client), unless ``--no-http``.

Each is printed as a ratio against the baseline. Targets (issue 22): first ≤ 500 ms, cached ≤ 50 ms.

Page accuracy (``assistant/evaluation/pages.py``): for every gold phrase of a question set found in a
PDF passage, whether the first page the citation names holds it in pypdfium2's own page text. On
the report made into a PDF (two columns and one; evals/questions.jsonl) and on the real PDFs of
evals/reports (its tuning set, and its held-out set as a whole). Results go to
``benchmarks/out/pages.json`` (and a timestamped copy).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluation.dataset import load_questions  # noqa: E402
from assistant.evaluation.pages import page_accuracy  # noqa: E402
from assistant.ingest import load_corpus  # noqa: E402
from assistant.storage.documents import get_document  # noqa: E402
from assistant.storage.pageimages import PageImages  # noqa: E402
from tests import docgen  # noqa: E402
from tests.support import DEFAULT_MODEL, make_settings  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
PASSAGE = "report#item-04"  # on page 1, beside the table


def _median_ms(fn: Callable[[], object], repeat: int, before: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _baseline(pdf: Path, width: int) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[0]
        image = page.render(scale=width / page.get_size()[0]).to_pil()
        image.save(io.BytesIO(), format="PNG")
        page.close()
    finally:
        document.close()


def _speed(folder: Path, repeat: int, width: int, http: bool) -> dict[str, float]:
    corpus = folder / "corpus"
    corpus.mkdir()
    pdf = docgen.write_pdf(corpus / "report.pdf")
    settings = make_settings(corpus_dir=corpus, index_dir=folder / "index", embedding_model=DEFAULT_MODEL,
                             generator="extractive")
    passages = load_corpus(corpus)
    passage = next(p for p in passages if p.id == PASSAGE)
    document = get_document(settings, "report")
    images = PageImages(settings)

    def empty() -> None:
        shutil.rmtree(settings.page_cache, ignore_errors=True)

    _baseline(pdf, width)  # warm-up: imports, fonts
    out = {
        "baseline_ms": _median_ms(lambda: _baseline(pdf, width), repeat),
        "first_ms": _median_ms(lambda: images.render(document, 1, width=width, passage=passage), repeat, empty),
        "cached_ms": _median_ms(lambda: images.render(document, 1, width=width, passage=passage), repeat),
        "png_bytes": float(images.render(document, 1, width=width, passage=passage).path.stat().st_size),
    }
    if http:
        out.update(_http(settings, passages, repeat, width, empty))
    return out


def _http(settings: Any, passages: list[Any], repeat: int, width: int, empty: Callable[[], None]) -> dict[str, float]:
    import httpx

    from assistant.api import create_app
    from assistant.embed import load_embedder
    from assistant.storage.build import build_index
    from tests.servers import serve

    build_index(settings, load_embedder(DEFAULT_MODEL, 16), passages, progress=False)
    url = f"/v1/documents/report/pages/1?width={width}&highlight={PASSAGE.replace('#', '%23')}"
    with serve(create_app(settings)) as base, httpx.Client(base_url=base, timeout=60) as client:
        assert client.get(url).status_code == 200  # warm-up

        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.text

        return {"http_first_ms": _median_ms(get, repeat, empty), "http_cached_ms": _median_ms(get, repeat)}


def _accuracy(folder: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    questions = [q for q in load_questions([ROOT / "evals" / "questions.jsonl"]) if q.answerable]
    for columns in (2, 1):
        corpus = folder / f"report-{columns}"
        corpus.mkdir()
        docgen.write_pdf(corpus / "report.pdf", columns=columns)
        result = page_accuracy(load_corpus(corpus), questions, corpus)
        out[f"report as PDF, {columns} column{'s' * (columns > 1)}"] = _row(result)
    reports = ROOT / "evals" / "reports"
    corpus = folder / "reports"
    corpus.mkdir()
    for pdf in (reports / "corpus").glob("*.pdf"):
        shutil.copy(pdf, corpus / pdf.name)
    passages = load_corpus(corpus)
    for name in ("tuning", "heldout"):
        questions = [q for q in load_questions([reports / f"{name}.jsonl"]) if q.answerable]
        out[f"evals/reports PDFs, {name}"] = _row(page_accuracy(passages, questions, corpus))
    return out


def _row(result: Any) -> dict[str, Any]:
    return {"accuracy": result.accuracy, "on_a_page": result.on_a_page,
            "phrases": len(result.checks) + len(result.unlocated), "right": sum(c.right for c in result.checks)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each measurement (the median is reported)")
    parser.add_argument("--width", type=int, default=1000, help="the page image's width in pixels")
    parser.add_argument("--no-http", action="store_true", help="skip the measurements through a real server")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        (Path(tmp) / "speed").mkdir()
        speed = _speed(Path(tmp) / "speed", args.repeat, args.width, not args.no_http)
        accuracy = _accuracy(Path(tmp))

    base = speed["baseline_ms"]
    print(f"page images: A4 page 1 of the report (two columns) at width {args.width}, a passage marked; "
          f"median of {args.repeat}; ratio = against the baseline (pypdfium2 draw + PNG, no marks, no cache)")
    rows = [("baseline", "baseline_ms", ""), ("first render", "first_ms", "≤ 500 ms"),
            ("cached", "cached_ms", "≤ 50 ms"), ("HTTP first", "http_first_ms", "≤ 500 ms"),
            ("HTTP cached", "http_cached_ms", "≤ 50 ms")]
    for label, key, target in rows:
        if key in speed:
            print(f"  {label:13} {speed[key]:8.1f} ms {speed[key] / base:7.2f}x  {target}")
    print(f"  PNG: {speed['png_bytes'] / 1024:.0f} KB")
    print("\npage accuracy: the first page a citation names holds the gold phrase (pypdfium2's page text)")
    for name, row in accuracy.items():
        print(f"  {name:34} {row['accuracy']:.3f}  ({row['right']}/{row['phrases']}; on one of the pages named "
              f"{row['on_a_page']:.3f})")
    print("  (measured on a shared 2-core machine: absolute times are inflated; the ratios are what to read)")

    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "width": args.width,
        "repeat": args.repeat,
        "speed": speed,
        "accuracy": accuracy,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": __import__("os").cpu_count()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (OUT / "pages.json").write_text(text, encoding="utf-8")
    (OUT / f"pages-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(text, encoding="utf-8")
    print(f"\nwrote {OUT / 'pages.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
