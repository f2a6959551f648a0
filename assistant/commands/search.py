"""``assistant search "QUESTION" [-k 5] [--json]``: the passages that best answer a question."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from assistant.assemble import open_retriever
from assistant.commands import Subparsers, add_command
from assistant.core.errors import InvalidInputError
from assistant.core.fusion import FUSIONS
from assistant.core.settings import Settings
from assistant.core.types import Hit

REFRESH_HELP = "build the index if it is missing, refresh it if the corpus changed (otherwise only read it)"
DESCRIPTION = """\
Show the report passages that best match QUESTION (Chinese or English), without generating an
answer. Retrieval combines the embedding model's cosine with BM25 over jieba tokens
(ASSISTANT_FUSION, default 'weighted').

Searching only reads: with no index yet it says how to build one (`assistant index`), and when
the corpus changed since the index was built it says so on stderr and searches the index as it
was built. --refresh builds or refreshes the index first (only the changed passages).

--json prints {"query": ..., "results": [{"passage_id", "title", "section", "source", "text", "score",
"location"}, ...]} with each passage's full text and where it stands in its document ({"pages": [6],
"boxes": [...]} for a PDF, {"lines": [120, 134]} for a text file; `assistant show ID` draws it).

examples:
  assistant search "截至2025年10月，培育了多少家专精特新“小巨人”企业？"
  assistant search "How many single-champion manufacturers are there?" -k 3
  assistant search "沙盒监管" --json
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "search", "show the passages that best match a question (no answer generation)",
                         DESCRIPTION)
    parser.add_argument("question", metavar="QUESTION", help="the question, in Chinese or English (quote it)")
    parser.add_argument("-k", type=int, default=None, help="number of passages to show (default: ASSISTANT_K, 5)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    parser.add_argument("--refresh", action="store_true", help=REFRESH_HELP)
    parser.add_argument(
        "--fusion",
        choices=FUSIONS,
        default=None,
        help="override ASSISTANT_FUSION for this search (for comparing methods)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # check the cheap things before loading a model or building an index
    question = args.question.strip()
    if not question:
        raise InvalidInputError(
            "the question is empty; ask something about the reports, e.g. assistant search \"新质生产力\""
        )
    k = settings.k if args.k is None else args.k
    if not 1 <= k <= settings.max_k:
        raise InvalidInputError(f"-k must be from 1 to {settings.max_k}, got {k}")
    retriever = open_retriever(settings, build_if_missing=args.refresh, refresh_if_stale=args.refresh,
                               progress=sys.stderr.isatty(), notify=_stderr)
    hits = retriever.search(question, k, fusion=args.fusion)
    if args.json:
        payload = {"query": question, "results": [h.to_source().model_dump() for h in hits]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(format_hits(hits))
    return 0


def format_hits(hits: list[Hit]) -> str:
    """Human-readable hits: rank, score, cosine, section and source, then the passage text."""
    if not hits:
        return "no passages found"
    blocks = []
    for h in hits:
        p = h.passage
        head = f"[{h.rank}] score {h.score:.3f} · cosine {h.scores.get('dense', float('nan')):.3f} · {p.id}"
        place = f"{p.source}, {p.location.label()}" if p.location is not None and p.location.label() else p.source
        where = f"    {p.section} ({place})" if p.section else f"    ({place})"
        # no re-wrapping: a terminal wraps Chinese text better than textwrap's character count does
        body = textwrap.indent(p.text, "    ")
        blocks.append(f"{head}\n{where}\n{body}")
    return "\n\n".join(blocks)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
