"""Ingest throughput: the report as PDF, DOCX and HTML against its plain-text version.

    .venv/bin/python benchmarks/bench_ingest.py [--repeat 5] [--copies 4]

Generates the documents with ``tests/docgen.py`` (the PDF: two columns, running header and
footer, one table) from the report repeated ``--copies`` times, then reads each into passages
``--repeat`` times (:func:`assistant.ingest.ingest_file`: read, repair, structure, chunk) and
prints the median time, pages/s and passages/s, each as a ratio against the .txt baseline.
"Pages" are the PDF rendering's pages for every format (the same text), so the rates compare.
For the PDF the time is also split: the table finding (assistant/ingest/pagetables.py), locating the
passages on their pages (assistant/ingest/locate.py), the rest.
Results go to ``benchmarks/out/ingest.json`` (and a timestamped copy).
"""

from __future__ import annotations

import argparse
import json
import platform
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

from assistant.ingest import corpus as corpus_module  # noqa: E402
from assistant.ingest import ingest_file  # noqa: E402
from assistant.ingest.readers import pdf as pdf_reader  # noqa: E402
from tests import docgen  # noqa: E402

OUT = ROOT / "benchmarks" / "out"


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _documents(folder: Path, copies: int) -> dict[str, Path]:
    """The report (repeated ``copies`` times) as .txt, .pdf, .docx and .html."""
    if copies > 1:
        base = docgen.report_paragraphs()
        docgen.report_paragraphs.cache_clear()
        paragraphs = tuple(base) + tuple(p for _ in range(copies - 1) for p in base[1:])
        docgen.report_paragraphs = lambda: paragraphs  # type: ignore[assignment]  # the generators read it
    txt = folder / "report.txt"
    txt.write_text("\n\n".join(docgen.report_paragraphs()) + "\n", encoding="utf-8")
    return {
        "txt": txt,
        "pdf": docgen.write_pdf(folder / "report.pdf"),
        "docx": docgen.write_docx(folder / "report.docx"),
        "html": docgen.write_html(folder / "report.html"),
    }


def _pdf_split(path: Path, repeat: int) -> dict[str, float]:
    """Median seconds in the table finding and in locating the passages, timed around each step."""
    steps = {"tables_s": (pdf_reader, "find_tables"), "locate_s": (corpus_module, "locate")}
    spent: dict[str, list[float]] = {name: [] for name in steps}
    originals = {name: getattr(module, attr) for name, (module, attr) in steps.items()}

    def timed(name: str) -> Callable[..., Any]:
        def step(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return originals[name](*args)
            finally:
                spent[name][-1] += time.perf_counter() - start
        return step

    for name, (module, attr) in steps.items():
        setattr(module, attr, timed(name))
    try:
        totals = []
        for _ in range(repeat):
            for times in spent.values():
                times.append(0.0)
            start = time.perf_counter()
            ingest_file(path)
            totals.append(time.perf_counter() - start)
    finally:
        for name, (module, attr) in steps.items():
            setattr(module, attr, originals[name])
    return {"total_s": statistics.median(totals), **{name: statistics.median(t) for name, t in spent.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per format (the median is reported)")
    parser.add_argument("--copies", type=int, default=1, help="how many times the report is repeated in each document")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        docs = _documents(Path(tmp), args.copies)
        pages = docgen.pdf_page_count(docs["pdf"])
        ingest_file(docs["pdf"])  # warm-up: imports, font caches
        rows: dict[str, dict[str, float]] = {}
        for kind, path in docs.items():
            passages = len(ingest_file(path).passages)
            seconds = _median_seconds(lambda path=path: ingest_file(path), args.repeat)  # type: ignore[misc]
            rows[kind] = {
                "seconds": seconds,
                "pages": pages,
                "passages": passages,
                "bytes": path.stat().st_size,
                "pages_per_s": pages / seconds,
                "passages_per_s": passages / seconds,
            }
        split = _pdf_split(docs["pdf"], args.repeat)

    base = rows["txt"]
    print(
        f"ingest throughput: the report x{args.copies} ({pages} PDF pages), median of {args.repeat} runs; "
        "ratio = format / txt (time: higher is slower; rates: lower is slower)"
    )
    print(
        f"  {'format':6} {'time':>10} {'ratio':>7} {'pages/s':>9} {'ratio':>7} "
        f"{'passages/s':>11} {'ratio':>7} {'passages':>9}"
    )
    for kind, r in rows.items():
        print(
            f"  {kind:6} {r['seconds'] * 1000:8.1f}ms {r['seconds'] / base['seconds']:6.1f}x {r['pages_per_s']:9.1f} "
            f"{r['pages_per_s'] / base['pages_per_s']:6.3f}x {r['passages_per_s']:11.1f} "
            f"{r['passages_per_s'] / base['passages_per_s']:6.3f}x {r['passages']:9d}"
        )
    rest = split["total_s"] - split["tables_s"] - split["locate_s"]
    print(
        f"  pdf split: finding tables {split['tables_s'] * 1000:.1f} ms ({split['tables_s'] / split['total_s']:.0%}), "
        f"locating passages {split['locate_s'] * 1000:.1f} ms ({split['locate_s'] / split['total_s']:.0%}), "
        f"pypdfium2 lines + repair + chunking {rest * 1000:.1f} ms"
    )
    print("  (measured on a shared 2-core machine: absolute times are inflated; the ratios are what to read)")

    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "copies": args.copies,
        "repeat": args.repeat,
        "formats": rows,
        "pdf_split": split,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (OUT / "ingest.json").write_text(text, encoding="utf-8")
    (OUT / f"ingest-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(text, encoding="utf-8")
    print(f"\nwrote {OUT / 'ingest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
