"""``assistant index [--rebuild]``: build or refresh the FAISS index of the corpus;
``assistant index --explain FILE [--json]``: show how one document is cut into passages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.commands import Subparsers, add_command
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings
from assistant.embed import Embedder, load_embedder
from assistant.ingest import IngestedDocument, ReadOptions, ingest_file
from assistant.storage.lifecycle import build_from_corpus

DESCRIPTION = """\
Read the documents in the corpus folder (ASSISTANT_CORPUS_DIR: .txt, .md, .pdf, .docx, .html),
cut them into passages and index them in ASSISTANT_INDEX_DIR with the embedding model
ASSISTANT_EMBEDDING_MODEL.

Passages whose content did not change keep their vectors; only new or changed ones are
embedded. The new index replaces the old one atomically: if the build is interrupted, the
previous index stays usable. An index made with another model or other chunking settings is
replaced as a whole.

--explain FILE reads one document (in the corpus or not) and prints how it was cut, without
indexing anything: the layout found (reader, paragraph layout, heading levels, title, tables,
closing, signature), then each passage's id, kind, section path and first characters; a table's
passages in full, one row a line: the rows as printed, then each written out with its label.
With --json it prints {"source", "layout": {...}, "passages": [{"id", "source", "section",
"text", "kind"}, ...]} with each passage's full text.

The vectors go to the store ASSISTANT_VECTOR_STORE names (faiss or milvus).

--ray embeds on Ray (the scale extra: pip install -e '.[scale]'): Ray Data map_batches over an
actor pool, each actor loading the embedding model once. Without ADDRESS Ray runs locally on
this machine's CPUs; with one (ray://head:10001, head:6379, auto) it joins that cluster, whose
nodes need this package and the model installed.

examples:
  assistant index
  assistant index --rebuild
  assistant index --explain corpus/report.pdf
  assistant index --explain notes.md --json
  assistant index --ray                      # local Ray, one actor per CPU
  assistant index --ray ray://head:10001 --ray-actors 16
  ASSISTANT_VECTOR_STORE=milvus ASSISTANT_MILVUS_URI=http://milvus:19530 assistant index --ray auto
"""

#: characters of each passage shown by --explain
PREVIEW_CHARS = 40


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "index",
                         "build or refresh the search index of the corpus (or --explain how a document is cut)",
                         DESCRIPTION)
    parser.add_argument(
        "--rebuild", action="store_true", help="re-embed every passage instead of reusing unchanged ones"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    parser.add_argument(
        "--explain", metavar="FILE", type=Path, help="show how FILE is cut into passages; index nothing"
    )
    parser.add_argument("--json", action="store_true", help="with --explain: print machine-readable JSON on stdout")
    parser.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS", default=None,
        help="embed on Ray: a local Ray without ADDRESS, else the cluster at ADDRESS",
    )
    parser.add_argument(
        "--ray-actors", type=_positive, default=None, metavar="N", help="embedding actors (default: one per CPU)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    progress = not args.quiet and sys.stderr.isatty()
    if args.explain is not None:
        return explain(args.explain, settings, as_json=args.json, progress=progress)
    if args.json:
        raise InvalidInputError("--json goes with --explain FILE")
    embedder: Embedder
    batch, via = None, ""
    if args.ray is None:
        embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    else:
        from assistant.embed.distributed import RAY_JOB_PASSAGES, RayEmbedder

        address = None if args.ray == "local" else args.ray
        ray_embedder = RayEmbedder(
            settings.embedding_model, settings.embedding_batch_size,
            address=address, actors=args.ray_actors, progress=progress,
        )
        embedder, batch, via = ray_embedder, RAY_JOB_PASSAGES, f", embedded on Ray by {ray_embedder.actors} actors"
    try:
        report = build_from_corpus(
            settings, embedder, rebuild=args.rebuild, progress=progress, notify=_stderr, embed_batch_size=batch
        )
    finally:
        if args.ray is not None:
            RayEmbedder.shutdown()
    if not args.quiet:
        print(
            f"indexed {report.passages} passages from {settings.corpus_dir} into {settings.index_dir}: "
            f"{report.embedded} embedded, {report.reused} reused, {report.seconds:.1f} s "
            f"(model {embedder.model_id}, {settings.vector_store} store{via})"
        )
    return 0


def explain(path: Path, settings: Settings, *, as_json: bool, progress: bool) -> int:
    """Print how ``path`` is cut (see DESCRIPTION)."""
    if not path.is_file():
        raise InvalidInputError(f"--explain: {path} is not a file")
    options = ReadOptions.from_settings(settings, progress=progress)
    document = ingest_file(path, max_chars=settings.chunk_max_chars, options=options)
    if as_json:
        print(json.dumps(document.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_explanation(document))
    return 0


def format_explanation(document: IngestedDocument) -> str:
    """The layout line, then per passage: id, kind, section path, and the text's first characters
    (a table's passage in full, one row a line, as it will be indexed)."""
    lines = [f"{document.source}: {document.layout.describe()}", f"{len(document.passages)} passages:"]
    hostile = document.instruction_passages()
    if hostile:
        lines.insert(1, f"warning: {len(hostile)} passage(s) are mostly instructions to a reader or a model; "
                        "they are kept but never used as evidence or quoted: " + ", ".join(hostile))
    width = max(len(p.id.split("#", 1)[1]) for p in document.passages)
    for p in document.passages:
        local = p.id.split("#", 1)[1]
        flag = "  [instructions: never evidence]" if p.id in hostile else ""
        lines.append(f"  {local:<{width}}  {p.kind:<9}  {p.section}{flag}")
        if p.kind == "table":
            lines += [f"  {'':<{width}}  {'':<9}  {row}" for row in p.text.split("\n")]
            lines.append(f"  {'':<{width}}  {'':<9}  ({len(p.text)} chars)")
            continue
        preview = " ".join(p.text.split())
        preview = preview if len(preview) <= PREVIEW_CHARS else preview[:PREVIEW_CHARS] + "…"
        lines.append(f"  {'':<{width}}  {'':<9}  {preview}  ({len(p.text)} chars)")
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
