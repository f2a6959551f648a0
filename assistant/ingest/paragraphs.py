"""Plain text into paragraphs, and which layout the text used for them.

Two layouts are common and look alike line by line:

- **blank-line**: paragraphs are separated by blank lines; the lines inside one are the same
  paragraph, wrapped at some width (the report in ``corpus/`` and most extracted text);
- **single-newline**: every line is a paragraph (many exports, Markdown written without blank
  lines between a heading and its text).

Each blank-line-separated block is judged by its line boundaries: when at least half of them are
hard (the line ends a sentence, or the next opens with a heading, a numbering marker or a list
bullet), its lines are paragraphs; otherwise they are wrapped lines of paragraphs and are joined,
except before a marker that follows a finished sentence or a short line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.markers import MD_HEADING, breaks_figure, starts_block
from assistant.text.cjk import is_cjk

#: sentence-final punctuation (a paragraph ending with one is finished)
TERMINAL = tuple("。！？!?；;：:….")
_CLOSERS = "”’」』）)"

# a line this much shorter than the longest of its block did not reach the right margin
_FULL_LINE = 0.8


@dataclass(frozen=True)
class Paragraphs:
    """Paragraphs of a text and the layout they were found in (``blank-line``, ``single-newline``, ``mixed``)."""

    paragraphs: list[str]
    layout: str


def ends_sentence(line: str) -> bool:
    """Whether ``line`` ends with sentence-final punctuation (possibly inside closing quotes)."""
    stripped = line.rstrip(_CLOSERS)
    return line.endswith(TERMINAL) or (stripped != line and stripped.endswith(TERMINAL))


def join_lines(left: str, right: str) -> str:
    """Join two wrapped lines: nothing between Chinese, a space between words, hyphenation undone."""
    if left.endswith("-") and right[:1].islower() and left[-2:-1].isalpha():
        return left[:-1] + right
    sep = "" if (is_cjk(left[-1]) or is_cjk(right[0])) else " "
    return left + sep + right


def _hard(line: str, nxt: str) -> bool:
    # a line with tabs is a table row: always a paragraph of its own
    if breaks_figure(line, nxt):
        return False
    return ends_sentence(line) or bool(MD_HEADING.match(line)) or starts_block(nxt) or "\t" in line or "\t" in nxt


def _lines_are_paragraphs(lines: list[str]) -> bool:
    hard = sum(_hard(a, b) for a, b in zip(lines, lines[1:], strict=False))
    return hard * 2 >= len(lines) - 1


def _split_block(lines: list[str], as_paragraphs: bool) -> list[str]:
    full = _FULL_LINE * max(len(ln) for ln in lines)
    out = [lines[0]]
    for prev, line in zip(lines, lines[1:], strict=False):
        if MD_HEADING.match(prev) or MD_HEADING.match(line) or "\t" in prev or "\t" in line:
            out.append(line)
            continue
        if breaks_figure(prev, line):
            wrapped = True
        elif as_paragraphs:
            # a line that fills the width and stops mid-sentence was wrapped, even in this layout
            wrapped = not ends_sentence(prev) and not starts_block(line) and len(prev) >= max(full, 20)
        else:
            wrapped = not (starts_block(line) and (ends_sentence(prev) or len(prev) < full))
        if wrapped:
            out[-1] = join_lines(out[-1], line)
        else:
            out.append(line)
    return out


#: the longest first line taken for a title line when a single newline follows it
_TITLE_LINE_MAX = 40


def _title_line(lines: list[str]) -> bool:
    """Whether the first of a document's first lines is its title: short, unfinished, and much
    shorter than the line after it (a wrapped line fills the width)."""
    if len(lines) < 2:
        return False
    first, widest = lines[0], max(len(ln) for ln in lines[1:])
    return len(first) <= _TITLE_LINE_MAX and not ends_sentence(first) and len(first) * 2 <= widest


def split_paragraphs(text: str) -> Paragraphs:
    """The paragraphs of ``text`` (see the module docstring), each on one line, with the layout found."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    paragraphs: list[str] = []
    lines_by_layout = {"blank-line": 0, "single-newline": 0}
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        if not paragraphs and _title_line(lines):
            # "标题\n正文……": a short first line that stops short of the text's width and of a
            # sentence's end is the document's title, not a wrapped line of its first paragraph
            paragraphs.append(lines.pop(0))
        as_paragraphs = len(lines) > 1 and _lines_are_paragraphs(lines)
        lines_by_layout["single-newline" if as_paragraphs else "blank-line"] += len(lines)
        paragraphs.extend(_split_block(lines, as_paragraphs))
    single, blank = lines_by_layout["single-newline"], lines_by_layout["blank-line"]
    layout = "single-newline" if single > 2 * blank else "mixed" if single else "blank-line"
    return Paragraphs(paragraphs, layout)
