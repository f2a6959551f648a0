"""Adding one document to an indexed corpus, against rebuilding the index from scratch, per format.

    .venv/bin/python benchmarks/bench_documents.py [--copies 6] [--repeat 3]

The corpus is the report's .txt plus ``--copies`` renamed copies of it as PDF, DOCX and HTML in
turn (each copy's passages are other passages: other ids and sources), indexed once. The document
added is the report as a PDF, a DOCX and an HTML page (tests/docgen.py: the PDF in two columns with
header, footer and a table), 22 passages each. For each format, on a fresh copy of the indexed
corpus, median of ``--repeat`` runs of:

- **add** — ``DocumentCollection.add`` (``assistant add FILE``): reads the one document, embeds
  its passages only, reuses every other vector, publishes a new build;
- **refresh** — the file put in the corpus folder, then ``assistant index``: every document is
  read again, only the new passages embedded;
- **rebuild** (baseline) — ``assistant index --rebuild`` over the same files: everything read and embedded.

Ratios are each time divided by the rebuild's (lower is faster). Results go to
``benchmarks/out/documents.json`` (and a timestamped copy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.core.settings import Settings  # noqa: E402
from assistant.embed import Embedder, load_embedder  # noqa: E402
from assistant.storage.documents import DocumentCollection, NewDocument  # noqa: E402
from assistant.storage.lifecycle import build_from_corpus  # noqa: E402
from tests import docgen  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
WRITERS: dict[str, Callable[[Path], Path]] = {
    "pdf": docgen.write_pdf, "docx": docgen.write_docx, "html": docgen.write_html,
}


def _indexed_corpus(folder: Path, copies: int, embedder: Embedder) -> tuple[Settings, int]:
    """The report's .txt plus ``copies`` renamed copies as PDF, DOCX and HTML in turn, indexed; its passages."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(docgen.REPORT, corpus / docgen.REPORT.name)
    kinds = list(WRITERS)
    for i in range(copies):
        kind = kinds[i % len(kinds)]
        WRITERS[kind](corpus / f"report-copy-{i + 1:02d}.{kind}")
    settings = Settings(_env_file=None, corpus_dir=corpus, index_dir=folder / "index")
    return settings, build_from_corpus(settings, embedder, progress=False).passages


def _fresh(base: Settings, folder: Path) -> Settings:
    """A copy of the indexed corpus to change."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(base.corpus_dir, folder / "corpus")
    shutil.copytree(base.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    return base.model_copy(update={"corpus_dir": folder / "corpus", "index_dir": folder / "index"})


def measure(base: Settings, document: Path, work: Path, embedder: Embedder, repeat: int) -> dict[str, float]:
    """Median seconds of add, refresh and rebuild of ``document`` on fresh copies of ``base``."""

    def add(s: Settings) -> object:
        return DocumentCollection(s, embedder).add([NewDocument.of(document)])

    def refresh(s: Settings) -> object:
        shutil.copy(document, s.corpus_dir / document.name)
        return build_from_corpus(s, embedder, progress=False)

    def rebuild(s: Settings) -> object:
        shutil.copy(document, s.corpus_dir / document.name)
        return build_from_corpus(s, embedder, rebuild=True, progress=False)

    methods: dict[str, Callable[[Settings], object]] = {"add": add, "refresh": refresh, "rebuild": rebuild}
    runs: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, method in methods.items():
            fresh = _fresh(base, work)
            start = time.perf_counter()
            method(fresh)
            runs[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in runs.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=6,
                        help="renamed copies of the report (PDF, DOCX, HTML in turn) beside it in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format and method (the median is reported)")
    args = parser.parse_args(argv)

    settings = Settings()
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        folder = Path(tmp)
        base, corpus_passages = _indexed_corpus(folder / "base", args.copies, embedder)
        for kind, write in WRITERS.items():
            document = write(folder / f"added-report.{kind}")
            rows[kind] = measure(base, document, folder / "work", embedder, args.repeat)

    print(
        f"adding one document to an indexed corpus of {args.copies + 1} documents ({corpus_passages} passages), "
        f"median of {args.repeat}; ratio = time / rebuild time (lower is faster)"
    )
    print(f"  {'format':6} {'add':>9} {'ratio':>7} {'refresh':>9} {'ratio':>7} {'rebuild':>9} {'ratio':>7}")
    for kind, r in rows.items():
        print(
            f"  {kind:6} {r['add']:8.2f}s {r['add'] / r['rebuild']:6.3f}x {r['refresh']:8.2f}s "
            f"{r['refresh'] / r['rebuild']:6.3f}x {r['rebuild']:8.2f}s {1:6.3f}x"
        )
    print("  add: `assistant add FILE` (reads and embeds the new document only); refresh: the file copied into the")
    print("  corpus, then `assistant index` (reads every document); rebuild: `assistant index --rebuild`")
    print("  (measured on a shared 2-core machine: absolute times are inflated; the ratios are what to read)")

    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "copies": args.copies,
        "corpus_passages": corpus_passages,
        "repeat": args.repeat,
        "seconds": rows,
        "ratios_to_rebuild": {k: {m: v / r["rebuild"] for m, v in r.items()} for k, r in rows.items()},
        "embedding_model": embedder.model_id,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (OUT / "documents.json").write_text(text, encoding="utf-8")
    (OUT / f"documents-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(text, encoding="utf-8")
    print(f"\nwrote {OUT / 'documents.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
