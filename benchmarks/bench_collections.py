"""Collections in one server: each answers its own questions as a server with only its corpus does,
refuses the other's, and a report-sized collection costs little memory (the models are shared).

    python benchmarks/bench_collections.py [--extra 10] [--workdir DIR]

Three real ``assistant serve`` processes (extractive generator, an admin key) over one workdir:

1. **alone**: the report as ``default``, nothing else; then the chengzhou documents (evals/chengzhou/)
   as ``default``, nothing else — the baseline figures;
2. **together**: the report as ``default`` and the chengzhou documents as the collection ``chengzhou``:
   each eval set asked of its own collection (figures side by side with 1.) and of the other one
   (negative rejection: the share of the other set's answerable questions refused);
3. **memory**: ``--extra`` more collections holding a copy of the report (corpus and index copied on
   disk: nothing embedded), each opened by a search and an ask; the server's RSS after each.

Figures per set (over HTTP ``/v1/ask``, as a client sees them): answered (answerable questions
answered), key facts (answerable questions whose answer holds every key fact), refused when it should
(unanswerable questions refused).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.serving import ROOT, Server, start_server  # noqa: E402

ADMIN = "bench-admin-key"
SETS = {"report": ROOT / "evals" / "questions.jsonl", "chengzhou": ROOT / "evals" / "chengzhou" / "questions.jsonl"}


def questions(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [r for r in rows if "question" in r]


def cli(env: dict[str, str], *args: str) -> None:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env}
    subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, env=full, check=True,
                   stdout=subprocess.DEVNULL)


def prepare(work: Path) -> dict[str, str]:
    """The workdir: the report's corpus and index (copied, or built once), and the collection chengzhou."""
    env = {"ASSISTANT_CORPUS_DIR": str(work / "corpus"), "ASSISTANT_INDEX_DIR": str(work / "index"),
           "ASSISTANT_COLLECTIONS_DIR": str(work / "collections"), "ASSISTANT_LOG_DB": str(work / "questions.db"),
           "ASSISTANT_GENERATOR": "extractive"}
    if not (work / "corpus").is_dir():
        shutil.copytree(ROOT / "corpus", work / "corpus", ignore=shutil.ignore_patterns("README*"))
        if (ROOT / "index" / "CURRENT").is_file():
            shutil.copytree(ROOT / "index", work / "index", ignore=shutil.ignore_patterns(".lock", "page-images"))
        print("indexing the report (once)…", file=sys.stderr)
        cli(env, "index")
    chengzhou = work / "collections" / "chengzhou"
    if not (chengzhou / "collection.json").is_file():
        print("indexing the chengzhou documents as a collection (once)…", file=sys.stderr)
        cli(env, "collections", "create", "chengzhou")
        cli(env, "add", "--collection", "chengzhou", *map(str, sorted((ROOT / "evals/chengzhou/corpus").iterdir())))
    return env


def ask_all(server: Server, rows: list[dict[str, Any]], collection: str | None) -> list[dict[str, Any]]:
    answers = []
    with httpx.Client(base_url=server.url, timeout=300, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        for row in rows:
            body: dict[str, Any] = {"question": row["question"], "generator": "extractive"}
            if collection is not None:
                body["collection"] = collection
            r = c.post("/v1/ask", json=body)
            r.raise_for_status()
            answers.append(r.json())
    return answers


def figures(rows: list[dict[str, Any]], answers: list[dict[str, Any]]) -> dict[str, float]:
    answerable = [(q, a) for q, a in zip(rows, answers, strict=True) if q["answerable"]]
    unanswerable = [(q, a) for q, a in zip(rows, answers, strict=True) if not q["answerable"]]

    def facts(q: dict[str, Any], a: dict[str, Any]) -> bool:
        return not a["refused"] and all(any(alt in a["answer"] for alt in group) for group in q.get("key_facts", []))

    return {
        "answered": round(sum(not a["refused"] for _, a in answerable) / len(answerable), 3),
        "key_facts": round(sum(facts(q, a) for q, a in answerable) / len(answerable), 3),
        "refused_unanswerable": round(sum(a["refused"] for _, a in unanswerable) / max(1, len(unanswerable)), 3),
    }


def refused_share(rows: list[dict[str, Any]], answers: list[dict[str, Any]]) -> float:
    """Negative rejection: the share of (another collection's) answerable questions refused."""
    pairs = [a for q, a in zip(rows, answers, strict=True) if q["answerable"]]
    return round(sum(a["refused"] for a in pairs) / len(pairs), 3)


def serve(env: dict[str, str], **more: str) -> Any:
    return start_server({**env, "ASSISTANT_API_KEYS": f"{ADMIN}:*", **more})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extra", type=int, default=10, help="report-sized collections added for the memory figure")
    parser.add_argument("--workdir", type=Path, help="reuse this folder (default: a temporary one)")
    parser.add_argument("--skip-evals", action="store_true", help="only the memory figure")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-collections-"))
    work.mkdir(parents=True, exist_ok=True)
    env = prepare(work)
    sets = {name: questions(path) for name, path in SETS.items()}
    chengzhou = work / "collections" / "chengzhou"

    if not args.skip_evals:
        alone: dict[str, dict[str, float]] = {}
        with serve(env, ASSISTANT_COLLECTIONS_DIR=str(work / "none")) as server:
            alone["report"] = figures(sets["report"], ask_all(server, sets["report"], None))
        with serve(env, ASSISTANT_CORPUS_DIR=str(chengzhou / "corpus"), ASSISTANT_INDEX_DIR=str(chengzhou / "index"),
                   ASSISTANT_COLLECTIONS_DIR=str(work / "none")) as server:
            alone["chengzhou"] = figures(sets["chengzhou"], ask_all(server, sets["chengzhou"], None))
        together: dict[str, dict[str, float]] = {}
        rejection: dict[str, float] = {}
        with serve(env) as server:
            for name, other, coll in (("report", "chengzhou", None), ("chengzhou", "report", "chengzhou")):
                together[name] = figures(sets[name], ask_all(server, sets[name], coll))
                rejection[f"{other} questions asked of {name}"] = refused_share(
                    sets[other], ask_all(server, sets[other], coll))
        print("\n## Own questions: alone vs together (extractive, over HTTP)\n")
        print("| set | figure | alone | together | diff |\n|---|---|---|---|---|")
        for name in SETS:
            for figure, value in alone[name].items():
                print(f"| {name} | {figure} | {value:.3f} | {together[name][figure]:.3f} | "
                      f"{together[name][figure] - value:+.3f} |")
        print("\n## Negative rejection across collections (answerable questions of the other set, refused)\n")
        print("| asked | refused |\n|---|---|")
        for label, share in rejection.items():
            print(f"| {label} | {share:.3f} |")

    # memory: copies of the report as collections (nothing embedded: corpus and index copied)
    for i in range(1, args.extra + 1):
        folder = work / "collections" / f"report{i}"
        if not (folder / "collection.json").is_file():
            shutil.copytree(work / "corpus", folder / "corpus")
            shutil.copytree(work / "index", folder / "index", ignore=shutil.ignore_patterns(".lock", "page-images"))
            record = {"name": f"report{i}", "created_at": "", "settings": {}}
            (folder / "collection.json").write_text(json.dumps(record), encoding="utf-8")
    question = sets["report"][0]["question"]
    with serve(env, ASSISTANT_MAX_OPEN_COLLECTIONS=str(args.extra + 2)) as server, \
            httpx.Client(base_url=server.url, timeout=300, headers={"Authorization": f"Bearer {ADMIN}"}) as c:

        def touch(collection: str) -> None:
            for path, body in (("/v1/search", {"query": question}), ("/v1/ask", {"question": question})):
                c.post(path, json={**body, "collection": collection}).raise_for_status()

        touch("default")
        touch("default")
        rows = [("default only", server.rss_mb()["rss_mb"])]
        for i in range(1, args.extra + 1):
            touch(f"report{i}")
            rows.append((f"+ report{i}", server.rss_mb()["rss_mb"]))
    print(f"\n## Memory: RSS after opening each report-sized collection (ASSISTANT_MAX_OPEN_COLLECTIONS="
          f"{args.extra + 2})\n")
    print("| server holds | RSS MB | added MB |\n|---|---|---|")
    for (label, rss), (_, before) in zip(rows, [rows[0], *rows], strict=False):
        print(f"| {label} | {rss:.1f} | {rss - before:+.1f} |")
    per = (rows[-1][1] - rows[0][1]) / max(1, args.extra)
    print(f"\nmean per added collection: {per:.1f} MB (target: <= 30 MB)")
    print(f"workdir: {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
