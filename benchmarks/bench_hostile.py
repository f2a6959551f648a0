"""Uploads built to cost a lot, before and after the reading limits: peak memory and seconds each.

    .venv/bin/python benchmarks/bench_hostile.py [--before c53df21] [--timeout 300]

The documents (tests/bombs.py, the bombs of issue 25, and one real report as the control):

- ``pdf-bomb``: a 1.5 MB one-page PDF whose content stream inflates to 1.5 GB;
- ``gridspan``: a 34 KB DOCX whose table rows each hold a cell spanning 99,999,999 columns;
- ``paragraphs``: a 0.2 MB DOCX whose document.xml unpacks to 9.7 MB (70,000 paragraphs);
- ``report.pdf`` (control): the report as a two-column PDF with a table (tests/docgen.py).

Each upload is ``DocumentCollection.add`` (what ``POST /v1/documents``, the chat and ``assistant add``
run) on a fresh copy of an indexed corpus (the report's .txt), in a process of its own, once with
the code of ``--before`` (a git revision, exported with ``git archive``: the code before the limits)
and once with this checkout. The parent samples the resident memory of that process and of every
process under it (the reading worker and its fork server) every 20 ms: **peak** is the largest sum,
**upload** the peak less what the process held once the embedder was loaded, just before the
upload. Seconds are the add's wall time; an upload still running after ``--timeout`` seconds is
killed and shown as such. The target (issue 25): at most 1 GB and 60 s an upload.
Results go to ``benchmarks/out/hostile.json`` (and a timestamped copy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out"
MB = 1024 * 1024
GB = 1024 * MB
#: the target of issue 25, per upload
TARGET_BYTES, TARGET_SECONDS = 1 * GB, 60.0


def _documents(folder: Path) -> dict[str, Path]:
    from tests import bombs, docgen

    builders: dict[str, tuple[str, Callable[[Path], Path]]] = {
        "pdf-bomb": ("bomb.pdf", lambda p: bombs.write_pdf_bomb(p, 1_500_000_000)),
        "gridspan": ("gridspan.docx", lambda p: bombs.write_gridspan_docx(p, 99_999_999, rows=3)),
        "paragraphs": ("paragraphs.docx", lambda p: bombs.write_paragraph_docx(p, 70_000)),
        "report.pdf": ("report.pdf", docgen.write_pdf),
    }
    out = {}
    for name, (file, build) in builders.items():
        path = folder / file
        if not path.exists():
            build(path)
        out[name] = path
    return out


def _indexed_corpus(folder: Path) -> Path:
    """The report's .txt, indexed, in ``folder`` (built once with this checkout; both codes read it)."""
    from assistant.core.settings import Settings
    from assistant.embed import load_embedder
    from assistant.storage.lifecycle import build_from_corpus
    from tests import docgen

    if not (folder / "index").exists():
        (folder / "corpus").mkdir(parents=True, exist_ok=True)
        shutil.copy(docgen.REPORT, folder / "corpus" / docgen.REPORT.name)
        settings = Settings(_env_file=None, corpus_dir=folder / "corpus", index_dir=folder / "index")
        embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
        build_from_corpus(settings, embedder, progress=False)
    return folder


def _export(revision: str, folder: Path) -> Path:
    """The repository's code at ``revision``, in ``folder`` (git archive: the working tree is not touched)."""
    if not (folder / "assistant").exists():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "assistant", "prompts"],
                                 check=True, capture_output=True).stdout
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    return folder


# ---- one upload, in a process of its own --------------------------------------------------------

CHILD = r"""
import json, sys, time
from pathlib import Path
code, corpus, index, document = sys.argv[1:5]
sys.path.insert(0, code)
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.embed import load_embedder
from assistant.storage.documents import DocumentCollection, NewDocument
settings = Settings(_env_file=None, corpus_dir=Path(corpus), index_dir=Path(index), log_enabled=False,
                    prompts_dir=Path(code) / "prompts")
embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
embedder.embed_passages(["warm up"])
print("ready", flush=True)
started = time.perf_counter()
try:
    report = DocumentCollection(settings, embedder).add([NewDocument.of(Path(document))])
    outcome = f"added, {report.added[0].passages} passages"
except AssistantError as exc:
    outcome = f"{type(exc).__name__} (HTTP {exc.http_status}): {exc}"
print(json.dumps({"seconds": time.perf_counter() - started, "outcome": outcome}), flush=True)
"""


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and of every process under it."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        child = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0")), []).append(child)
        rss[child] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def upload(code: Path, corpus: Path, document: Path, timeout: float) -> dict[str, object]:
    """One upload of ``document`` with the code in ``code``: peak memory, memory at ready, seconds, outcome."""
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    try:
        shutil.copytree(corpus / "corpus", work / "corpus")
        shutil.copytree(corpus / "index", work / "index", ignore=shutil.ignore_patterns(".lock"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env["PYTHONPATH"] = str(code)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(code), str(work / "corpus"), str(work / "index"),
                                 str(document)], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        peak, ready, stop = [0], [0], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the upload process failed to start: {line}{proc.communicate()[1][-2000:]}")
        ready[0] = _tree_rss(proc.pid)
        peak[0] = ready[0]
        started = time.perf_counter()
        try:
            out, err = proc.communicate(timeout=timeout)
            result = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else {
                "seconds": time.perf_counter() - started, "outcome": f"crashed (exit {proc.returncode}): {err[-300:]}"}
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            result = {"seconds": time.perf_counter() - started, "outcome": f"still running after {timeout:g} s: killed"}
        stop.set()
        sampler.join()
        return {**result, "peak_bytes": peak[0], "ready_bytes": ready[0], "upload_bytes": peak[0] - ready[0]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _mb(n: object) -> str:
    return f"{int(n) / MB:,.0f} MB"  # type: ignore[call-overload]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="c53df21", help="git revision of the code before the limits")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds after which an upload is killed")
    parser.add_argument("--only", nargs="*", help="only these documents (pdf-bomb gridspan paragraphs report.pdf)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-hostile",
                        help="where the documents, the indexed corpus and the exported code are kept between runs")
    args = parser.parse_args(argv)

    args.work.mkdir(parents=True, exist_ok=True)
    documents = _documents(args.work)
    corpus = _indexed_corpus(args.work / "indexed")
    codes = {"before": _export(args.before, args.work / f"code-{args.before}"), "after": ROOT}
    rows = []
    for name, document in documents.items():
        if args.only and name not in args.only:
            continue
        row: dict[str, object] = {"document": name, "bytes": document.stat().st_size}
        for label, code in codes.items():
            row[label] = upload(code, corpus, document, args.timeout)
            print(f"  {name:11} {label:6} peak {_mb(row[label]['peak_bytes']):>9} "  # type: ignore[index]
                  f"(upload {_mb(row[label]['upload_bytes']):>9}) {row[label]['seconds']:7.1f} s  "  # type: ignore[index]
                  f"{str(row[label]['outcome'])[:110]}", flush=True)  # type: ignore[index]
        rows.append(row)

    print(f"\nuploads before ({args.before}) and after (this checkout); target: upload memory <= 1 GB and <= 60 s")
    print(f"  {'document':11} {'size':>8} | {'upload MB':>9} {'s':>7} | {'upload MB':>9} {'s':>7} | "
          f"{'mem x':>6} {'time x':>6} | after")
    for row in rows:
        b, a = row["before"], row["after"]
        assert isinstance(b, dict) and isinstance(a, dict)
        ok = a["upload_bytes"] <= TARGET_BYTES and a["seconds"] <= TARGET_SECONDS
        print(f"  {row['document']:11} {int(row['bytes']) / MB:6.2f}MB | {int(b['upload_bytes']) / MB:9,.0f} "  # type: ignore[call-overload]
              f"{b['seconds']:7.1f} | {int(a['upload_bytes']) / MB:9,.0f} {a['seconds']:7.1f} | "
              f"{a['upload_bytes'] / max(b['upload_bytes'], 1):6.3f} {a['seconds'] / max(b['seconds'], 1e-9):6.3f} | "
              f"{'within target' if ok else 'OVER TARGET'}")
    print("  upload MB: peak resident memory of the process tree less its memory once the embedder was loaded;")
    print("  x: after / before (lower is better); shared 2-core machine: seconds are rough")

    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "before": args.before,
        "timeout": args.timeout,
        "rows": rows,
        "target": {"bytes": TARGET_BYTES, "seconds": TARGET_SECONDS},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (OUT / "hostile.json").write_text(text, encoding="utf-8")
    (OUT / f"hostile-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(text, encoding="utf-8")
    print(f"\nwrote {OUT / 'hostile.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
