"""``assistant log``: the logged answers (``--refused``, ``--down``, ``--since``), one of them in
full (``show ID``), and down-rated and refused questions as an eval set (``export --as-eval FILE``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from assistant.core.errors import InvalidInputError, NotFoundError
from assistant.core.settings import Settings
from assistant.questionlog import LogEntry, LogStore
from assistant.questionlog.records import retention_cutoff, timestamp


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "log",
        help="the logged answers and their feedback; export them as eval cases",
        description=(
            "List the answers the CLI, the API and the chat gave (newest first), with their ratings. "
            "The log is the SQLite file ASSISTANT_LOG_DB; filters combine."
        ),
        epilog=(
            "examples:\n"
            "  assistant log --down --since 2026-11-01\n"
            "  assistant log show 3f2a9c1e\n"
            "  assistant log export --as-eval evals/from-log.jsonl && assistant eval evals/from-log.jsonl"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _filters(parser)
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="at most N answers (default 50; 0: all)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    show = actions.add_parser("show", help="one logged answer in full, with its feedback")
    show.add_argument("answer_id", metavar="ID", help="the answer id, or its first 8+ characters")
    show.add_argument("--json", action="store_true", help="as JSON")
    show.set_defaults(func=run_show)

    export = actions.add_parser(
        "export",
        help="down-rated and refused questions as an eval set",
        description="Write the down-rated and refused questions as eval-set JSONL (the format of "
        "evals/questions.jsonl): key facts from the users' corrections, the gold passage from the "
        "citations they agreed with; cases that need a person say so in 'review'.",
    )
    export.add_argument("--as-eval", type=Path, required=True, metavar="FILE", help="the JSONL file to write")
    export.add_argument("--since", type=_date, metavar="DATE", help="only answers logged on or after DATE")
    export.set_defaults(func=run_export)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--refused", action="store_true", help="only refused answers")
    parser.add_argument("--down", action="store_true", help="only answers whose latest rating is thumbs down")
    parser.add_argument("--since", type=_date, metavar="DATE",
                        help="only answers logged on or after DATE (YYYY-MM-DD, UTC)")


def _date(text: str) -> str:
    try:
        return timestamp(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD or an ISO 8601 time): {text!r}") from None


def open_store(settings: Settings) -> LogStore | None:
    """The log database, with expired answers pruned; None when there is no log file yet."""
    if not settings.log_db.exists():
        print(f"no question log at {settings.log_db} yet", file=sys.stderr)
        return None
    store = LogStore(settings.log_db)
    if settings.log_retention_days:
        store.prune(retention_cutoff(settings.log_retention_days))
    return store


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 0:
        raise InvalidInputError("--limit must be 0 (all) or more")
    store = open_store(settings)
    entries = (store.entries(refused=args.refused, down=args.down, since=args.since, limit=args.limit or None,
                             collection=getattr(args, "collection", None))
               if store else [])
    for e in entries:
        print(json.dumps(_json(e), ensure_ascii=False) if args.json else _line(e))
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    if store is None:
        raise NotFoundError(f"no logged answer with id {args.answer_id!r}")
    entry = store.get(args.answer_id)
    print(json.dumps(_json(entry), ensure_ascii=False, indent=2) if args.json else _details(entry))
    return 0


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation.dataset import HEADER_KEY
    from assistant.evaluation.from_log import eval_cases
    from assistant.ingest import load_corpus

    store = open_store(settings)
    entries = store.entries(since=args.since) if store else []
    export = eval_cases(entries, load_corpus(settings.corpus_dir, settings.chunk_max_chars))
    # the header names the corpus the gold phrases were checked against, so `assistant eval FILE`
    # runs the cases on those documents
    about = f"exported from the question log {settings.log_db}: down-rated and refused questions"
    header = {HEADER_KEY: {"corpus": str(settings.corpus_dir.resolve()), "about": about}}
    lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in [header, *export.cases])
    _write_atomically(args.as_eval, lines)
    print(f"wrote {len(export.cases)} eval case(s) to {args.as_eval}; {export.for_review} marked for review",
          file=sys.stderr)
    if export.without_text:
        print(f"{export.without_text} answer(s) were logged without their question text (ASSISTANT_LOG_TEXTS=false) "
              "and cannot be exported", file=sys.stderr)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    # a half-written eval set would fail `assistant eval` at its last line: write aside, then rename
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _json(e: LogEntry) -> dict[str, object]:
    return {**e.model_dump(), "rating": e.rating}


def _line(e: LogEntry) -> str:
    """One answer as a line: time, id, channel, generator, outcome, rating, question."""
    outcome = "refused" if e.refused else "answered"
    rating = {"up": "👍", "down": "👎"}.get(e.rating or "", "  ")
    question = " ".join((e.question or f"(question not logged: sha256 {e.question_sha256[:12]})").split())
    if len(question) > 60:
        question = question[:60] + "…"
    model = f"{e.generator}:{e.model}" if e.model else e.generator
    when = e.created_at[:16].replace("T", " ")
    return f"{when}  {e.answer_id[:8]}  {e.channel:<6} {model:<22} {outcome:<8} {rating}  {question}"


def _details(e: LogEntry) -> str:
    """One answer in full, for ``assistant log show``."""
    lines = [
        f"answer   {e.answer_id}",
        f"time     {e.created_at}  ({e.channel}{', client ' + e.client if e.client else ''})",
        f"question {e.question if e.question is not None else '(not logged) sha256 ' + e.question_sha256}",
    ]
    if e.query is not None and e.query != e.question:
        lines.append(f"query    {e.query}")
    lines += [
        f"answer   {e.answer if e.answer is not None else '(not logged) sha256 ' + e.answer_sha256}",
        f"outcome  {'refused' if e.refused else 'answered'} by {e.generator}{':' + e.model if e.model else ''}"
        + (f", prompt {e.prompt_name} ({(e.prompt_sha256 or '')[:12]})" if e.prompt_name else ""),
        f"index    {e.index_build or '?'}",
        "timings  " + ", ".join(f"{k} {v:.0f}" for k, v in e.timings.items()),
    ]
    lines += [f"cited    [{c.marker}] {c.passage_id} ({c.passage_sha256[:12]})" for c in e.citations]
    lines += [f"dropped  {s}" for s in e.dropped]
    for f in e.feedback:
        by = f" ({f.client})" if f.client else ""
        lines.append(f"feedback {f.created_at[:19].replace('T', ' ')} {f.rating}{by}")
        lines += [f"  comment    {f.comment}"] if f.comment else []
        lines += [f"  correction {f.correction}"] if f.correction else []
    return "\n".join(lines)
