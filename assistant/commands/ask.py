"""``assistant ask "QUESTION"``: answer from the reports, streaming the draft, then the checked
answer and its sources (or ``--json``: the contract the API reuses)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from assistant.answer.generate import generator_choices
from assistant.commands import Subparsers
from assistant.commands.search import REFRESH_HELP
from assistant.core.settings import Settings
from assistant.core.types import Answer, AnswerEvent, Event, SourcesEvent, TokenEvent


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="answer a question from the reports, with checked citations",
        description=(
            "Answer QUESTION (Chinese or English) only from the reports, citing the passages used. "
            "The draft streams to stderr as it is written; every sentence is then checked against the "
            "passage it cites, unsupported sentences are dropped, and the checked answer and its "
            "sources are printed on stdout. When the reports don't say, the answer says so."
        ),
        epilog=(
            "examples:\n"
            '  assistant ask "截至2025年10月，培育了多少家专精特新“小巨人”企业？"\n'
            '  assistant ask "How big was China\'s data industry in 2024?" --generator extractive\n'
            '  assistant ask "2025年我国GDP增长率是多少？" --json'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question", help="the question (Chinese or English)")
    parser.add_argument(
        "--generator", choices=generator_choices(), default=None,
        help="who writes the answer (default: ASSISTANT_GENERATOR, 'auto' = local if its model is present)",
    )
    parser.add_argument("-k", type=int, default=None, help="passages to retrieve (default: ASSISTANT_K)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON (the API's contract)")
    parser.add_argument("--refresh", action="store_true", help=REFRESH_HELP)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.assemble import build_assistant, build_question_log

    assistant = build_assistant(settings, progress=not args.json, build_if_missing=args.refresh,
                                refresh_if_stale=args.refresh, notify=_stderr)
    # closing the log waits for this answer's row: the process must not exit with it queued
    with build_question_log(settings, assistant) as question_log:
        events = question_log.recorded(assistant.stream(args.question, generator=args.generator, k=args.k),
                                       channel="cli", collection=getattr(args, "collection", None) or "default")
        if args.json:
            answer = next(e.answer for e in events if isinstance(e, AnswerEvent))
            print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
            return 0
        _print_events(events, args.question)
    return 0


def _print_events(events: Iterator[Event], question: str) -> None:
    for event in events:
        if isinstance(event, SourcesEvent) and event.query != question.strip():
            print(f"(searching for: {event.query})", file=sys.stderr)
        elif isinstance(event, TokenEvent):
            # the unchecked draft, shown dimmed as it streams; the checked answer follows
            sys.stderr.write(event.text)
            sys.stderr.flush()
        elif isinstance(event, AnswerEvent):
            if event.answer.draft:
                sys.stderr.write("\n\n")
            print_answer(event.answer)


def print_answer(answer: Answer) -> None:
    """The checked answer, then one line per cited passage."""
    print(answer.answer)
    if answer.citations:
        print()
        for c in answer.citations:
            flat = " ".join(c.text.split())
            text = flat if len(flat) <= 160 else flat[:160] + "…"
            where = f", {c.location.label()}" if c.location is not None and c.location.label() else ""
            print(f"[{c.marker}] {c.section} ({c.source}{where}, {c.passage_id})\n    {text}")
    t = answer.timings
    print(f"\n— {answer.generator}; {t.get('total_ms', 0):.0f} ms"
          + (f"; {len(answer.dropped)} unsupported sentence(s) dropped" if answer.dropped else "")
          + (f"; answer {answer.answer_id[:8]} (assistant log show)" if answer.answer_id else ""))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
