#!/usr/bin/env python3
"""Check question sets against the text of their corpus, without importing the assistant.

For each question file (default: tuning.jsonl and heldout.jsonl beside this script) it reads
the header's corpus folder, extracts every document's text the way a reader library does
(pdfplumber for PDF, python-docx for DOCX paragraphs *and* tables, plain read for .txt/.md)
and checks, whitespace-free and case-folded (as ``assistant.evaluation.dataset.squash`` does):

* the fields of every question (types, languages, answerable/gold/key_facts consistency);
* answerable questions: every gold phrase occurs in the document named by the question's ``doc:<file stem>`` tag,
  and nowhere else in the corpus (a phrase found twice is reported);
* every key fact has at least one variant in that document, and (warning) within a window
  around the gold phrase, so that the gold passage can state it;
* gold phrases are 8-25 characters long (warning otherwise; --max-gold changes the limit);
* unanswerable questions tagged ``left-out`` name a document that is not in the corpus;
* question ids are unique across the files.

Usage: check.py [QUESTION_FILE ...] [--strict]   (--strict: warnings count as problems)
Exit status 1 when a problem is found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPES = {"direct", "reworded", "multi", "english", "unanswerable", "injection", "nonsense"}
FIELDS = {"id", "question", "answerable", "gold", "key_facts", "language", "type", "review", "forbidden", "tags"}
WINDOW = 300  # squashed characters either side of a gold phrase in which a key fact should stand


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def pdf_text(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def docx_text(path: Path) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    out: list[str] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append(Paragraph(element, document).text)
        elif tag == "tbl":
            for row in Table(element, document).rows:
                cells: list[str] = []
                for cell in row.cells:  # merged cells repeat: keep one copy
                    if not cells or cell.text != cells[-1]:
                        cells.append(cell.text)
                out.append("\t".join(cells))
    return "\n".join(out)


def document_text(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return pdf_text(path)
    if suffix == ".docx":
        return docx_text(path)
    return path.read_text(encoding="utf-8")


def load(path: Path) -> tuple[dict, list[dict]]:
    header: dict = {}
    questions: list[dict] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        if "eval_set" in record:
            if lineno != 1:
                raise SystemExit(f"{path}:{lineno}: header not on the first line")
            header = record["eval_set"]
            continue
        record["_where"] = f"{path.name}:{lineno}"
        questions.append(record)
    return header, questions


def check_fields(q: dict) -> list[str]:
    problems = []
    extra = set(q) - FIELDS - {"_where"}
    if extra:
        problems.append(f"unknown fields {sorted(extra)}")
    for name in ("id", "question", "answerable", "type"):
        if name not in q:
            problems.append(f"missing {name}")
    if not str(q.get("question", "")).strip() or not str(q.get("id", "")).strip():
        problems.append("empty id or question")
    if q.get("type") not in TYPES:
        problems.append(f"bad type {q.get('type')!r}")
    if q.get("language", "zh") not in ("zh", "en"):
        problems.append(f"bad language {q.get('language')!r}")
    if q.get("answerable") and (not q.get("gold") or not q.get("key_facts")):
        problems.append("answerable without gold or key_facts")
    if not q.get("answerable") and (q.get("gold") or q.get("key_facts")):
        problems.append("unanswerable with gold or key_facts")
    if q.get("type") == "unanswerable" and q.get("answerable"):
        problems.append("type unanswerable but answerable")
    if q.get("type") == "english" and q.get("language") != "en":
        problems.append("type english but language not en")
    for fact in q.get("key_facts", []):
        if not fact or any(not str(v).strip() for v in fact):
            problems.append(f"empty key fact variant in {fact}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="question files (default: tuning.jsonl heldout.jsonl)")
    parser.add_argument("--max-gold", type=int, default=25, help="longest gold phrase before a warning (default: %(default)s)")
    parser.add_argument("--strict", action="store_true", help="count warnings as problems")
    args = parser.parse_args()
    files = args.files or [HERE / "tuning.jsonl", HERE / "heldout.jsonl"]

    texts: dict[Path, dict[str, str]] = {}
    errors: list[str] = []
    warnings: list[str] = []
    seen_ids: dict[str, str] = {}
    total = 0
    for path in files:
        header, questions = load(path)
        corpus = (path.parent / header.get("corpus", "corpus")).resolve()
        if corpus not in texts:
            texts[corpus] = {
                doc.stem: squash(document_text(doc)) for doc in sorted(corpus.iterdir()) if doc.is_file()
            }
        docs = texts[corpus]
        for q in questions:
            total += 1
            where = f"{q['_where']} {q.get('id')}"
            errors += [f"{where}: {p}" for p in check_fields(q)]
            if q.get("id") in seen_ids:
                errors.append(f"{where}: duplicate id (also {seen_ids[q['id']]})")
            seen_ids[q.get("id")] = where
            doc_tags = [t[4:] for t in q.get("tags", []) if t.startswith("doc:")]
            if not q.get("answerable"):
                # an unanswerable question may name the document it is modelled on; a "left-out"
                # one names an article that must NOT be in the corpus
                if "left-out" in q.get("tags", []) and any(t in docs for t in doc_tags):
                    errors.append(f"{where}: left-out document {doc_tags} is in the corpus")
                continue
            if len(doc_tags) != 1 or doc_tags[0] not in docs:
                errors.append(f"{where}: needs exactly one doc:<stem> tag naming a corpus file, has {doc_tags}")
                continue
            text = docs[doc_tags[0]]
            positions: list[int] = []
            for phrase in q.get("gold", []):
                needle = squash(phrase)
                if not 8 <= len(needle) <= args.max_gold:
                    warnings.append(f"{where}: gold phrase {phrase!r} is {len(needle)} characters")
                count = text.count(needle)
                elsewhere = [stem for stem, t in docs.items() if stem != doc_tags[0] and needle in t]
                if count == 0:
                    errors.append(f"{where}: gold phrase {phrase!r} not in {doc_tags[0]}")
                elif count > 1:
                    warnings.append(f"{where}: gold phrase {phrase!r} occurs {count} times in {doc_tags[0]}")
                if elsewhere:
                    errors.append(f"{where}: gold phrase {phrase!r} also in {elsewhere}")
                if count:
                    positions.append(text.index(needle))
            for fact in q.get("key_facts", []):
                variants = [squash(v) for v in fact]
                if not any(v in text for v in variants):
                    errors.append(f"{where}: no variant of key fact {fact} in {doc_tags[0]}")
                    continue
                near = any(
                    v in text[max(0, pos - WINDOW): pos + WINDOW] for pos in positions for v in variants
                )
                if positions and not near:
                    warnings.append(f"{where}: key fact {fact} not within {WINDOW} characters of a gold phrase")
    for line in errors:
        print("ERROR", line)
    for line in warnings:
        print("WARN ", line)
    print(f"{total} questions in {len(files)} file(s): {len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors or (args.strict and warnings) else 0


if __name__ == "__main__":
    sys.exit(main())
