"""Reports in, citable passages out.

Three steps, each a function: :func:`read_report` (decode a file), :func:`repair_text`
(undo what text extraction broke: page breaks inside paragraphs, a character repeated
across a break, half-width item markers, stray spaces around numbers) and
:func:`chunk_report` (one passage per numbered item, plus the front matter, the closing
paragraph and the signature; an item longer than ``max_chars`` is split at sentence
boundaries only, each piece keeping its section path).

A passage's ``id`` is ``<file stem>#<place>`` (``#item-09``, ``#item-09-p2``, ``#preamble``,
``#closing``, ``#signature``, ``#para-003``), so it stays the same across runs and re-chunks
that do not move items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import CorpusError
from assistant.types import Passage

SUFFIXES = (".txt", ".md")
SECTION_SEP = " › "

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "一二三四五六七八九十百零两"
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”‘’《》"

# "(三) " / "（三）" / "( 三 )" at the start of a paragraph
_ITEM_MARKER = re.compile(rf"^[（(]\s*([{_CN_NUM}]+)\s*[）)]\s*")
_SECTION_MARKER = re.compile(rf"^([{_CN_NUM}]+)、")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
# a paragraph that ends a sentence (a page break after it is a real paragraph break)
_TERMINAL = tuple("。！？!?；;：:…")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])(?![”’」』）)])|(?<=[。！？!?][”’」』])")


def cn_to_int(numeral: str) -> int:
    """Convert a Chinese numeral up to the hundreds (``十八`` -> 18, ``二十一`` -> 21)."""
    total, current = 0, 0
    for ch in numeral:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        else:
            raise ValueError(f"not a Chinese numeral: {numeral!r}")
    return total + current


# ---- reading -----------------------------------------------------------------------------------


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The report files of the corpus, sorted by path. Raises CorpusError when there are none."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {corpus_dir} does not exist; put .txt or .md reports in it "
            "or point ASSISTANT_CORPUS_DIR at the folder that holds them"
        )
    files = sorted(p for p in corpus_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise CorpusError(f"corpus folder {corpus_dir} holds no .txt or .md reports")
    return files


def read_report(path: Path) -> str:
    """Decode a report file (UTF-8, with or without BOM; GB18030 as a fallback for Chinese files)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read report {path}: {exc.strerror or exc}") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(f"report {path} is neither UTF-8 nor GB18030 text")


# ---- repair --------------------------------------------------------------------------------------


def _is_structural(paragraph: str) -> bool:
    return bool(_ITEM_MARKER.match(paragraph) or _SECTION_MARKER.match(paragraph) or _MD_HEADING.match(paragraph))


def _ends_sentence(paragraph: str) -> bool:
    stripped = paragraph.rstrip("”’」』）)")
    return paragraph.endswith(_TERMINAL) or (stripped != paragraph and stripped.endswith(_TERMINAL))


def _is_cjk(ch: str) -> bool:
    return bool(re.match(rf"[{_CJK}]", ch))


def join_page_breaks(paragraphs: list[str]) -> list[str]:
    """Join paragraphs that a page break split mid-sentence.

    A paragraph continues into the next when it does not end a sentence, is not itself a
    heading, is long enough to be body text (titles, addressees and signatures are short)
    and the next one does not start a new item or section. When the same CJK character
    stands on both sides of the break (``因地制宜`` + ``宜激发``) extraction duplicated it,
    and one copy is dropped.
    """
    out: list[str] = []
    for para in paragraphs:
        if out:
            prev = out[-1]
            continues = (
                not (len(out) == 1 and len(prev) <= 120)  # the title line
                and not _ends_sentence(prev)
                and len(prev) >= 20
                and not _MD_HEADING.match(prev)
                and not (_SECTION_MARKER.match(prev) and len(prev) < 40)
                and not _is_structural(para)
            )
            if continues:
                if prev[-1] == para[0] and _is_cjk(para[0]):
                    para = para[1:]
                out[-1] = prev + para
                continue
        out.append(para)
    return out


def normalise_paragraph(paragraph: str) -> str:
    """Full-width item markers, no whitespace next to CJK characters (``1900 余家`` -> ``1900余家``)."""
    paragraph = paragraph.strip()
    m = _ITEM_MARKER.match(paragraph)
    if m:
        paragraph = f"（{m.group(1)}）" + paragraph[m.end():]
    # Chinese text has no spaces: any run of whitespace touching a CJK character is extraction noise.
    paragraph = re.sub(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])", "", paragraph)
    return re.sub(r"[ \t]{2,}", " ", paragraph)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; lines inside a paragraph are joined."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    blocks = re.split(r"\n\s*\n", text)
    paragraphs = []
    for block in blocks:
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        joined = lines[0]
        for ln in lines[1:]:
            sep = "" if (_is_cjk(joined[-1]) or _is_cjk(ln[0])) else " "
            joined += sep + ln
        paragraphs.append(joined)
    return paragraphs


def repair_text(text: str) -> list[str]:
    """Clean paragraphs of an extracted report, in order (see the module docstring)."""
    return join_page_breaks([normalise_paragraph(p) for p in split_paragraphs(text)])


# ---- chunking -------------------------------------------------------------------------------------


@dataclass
class _Block:
    local_id: str
    kind: str
    section: str
    paragraphs: list[str] = field(default_factory=list)


def _item_title(paragraph: str) -> str:
    head = re.split(r"[。；;]", paragraph, maxsplit=1)[0]
    return head if len(head) <= 60 else head[:60] + "…"


def _is_signature_line(paragraph: str) -> bool:
    return len(paragraph) <= 30 and not _ends_sentence(paragraph)


def _blocks(paragraphs: list[str], fallback_title: str) -> list[_Block]:
    """Group repaired paragraphs into structural blocks (front matter, items, closing, signature)."""
    if not paragraphs:
        return []
    title = fallback_title
    first = paragraphs[0]
    md = _MD_HEADING.match(first)
    if md and len(md.group(1)) == 1:
        title = md.group(2).strip()
    elif not _is_structural(first) and not _ends_sentence(first) and len(first) <= 120:
        title = first

    blocks: list[_Block] = [_Block("preamble", "preamble", title)]
    section = ""
    para_no = 0
    for para in paragraphs:
        md = _MD_HEADING.match(para)
        item = _ITEM_MARKER.match(para)
        if (md and len(md.group(1)) == 2) or (_SECTION_MARKER.match(para) and not _ends_sentence(para)):
            section = md.group(2).strip() if md else para
            # a heading is text of the report too: it leads the first passage of its section
            blocks.append(_Block(f"section-{len(blocks):03d}", "heading", section, [para]))
            continue
        if item or (md and len(md.group(1)) >= 3):
            if item:
                local = f"item-{cn_to_int(item.group(1)):02d}"
                name = _item_title(para)
            else:
                assert md is not None
                local = f"item-{len(blocks):03d}"
                name = md.group(2).strip()
            path = SECTION_SEP.join(s for s in (section, name) if s)
            blocks.append(_Block(local, "item", path, [para]))
            continue
        current = blocks[-1]
        if current.kind != "heading":
            current.paragraphs.append(para)
        else:
            para_no += 1
            blocks.append(_Block(f"para-{para_no:03d}", "paragraph", section or title, [para]))
    return _split_tail(_merge_headings(blocks), title)


def _merge_headings(blocks: list[_Block]) -> list[_Block]:
    """Fold each bare section heading into the passage that follows it, so no passage is a fragment."""
    out: list[_Block] = []
    pending: list[str] = []
    for block in blocks:
        if block.kind == "heading":
            pending.extend(block.paragraphs)
            continue
        if pending:
            block.paragraphs = pending + block.paragraphs
            pending = []
        out.append(block)
    if pending:  # a heading with nothing after it: keep it as a passage of its own
        out.append(_Block("section-end", "paragraph", pending[-1], pending))
    return [b for b in out if b.paragraphs]


def _split_tail(blocks: list[_Block], title: str) -> list[_Block]:
    """Peel the closing paragraph(s) and the signature/date off the last block."""
    if not blocks:
        return blocks
    last = blocks[-1]
    paras = last.paragraphs
    keep = 1 if last.kind in ("item", "heading") else 0
    sig_start = len(paras)
    while sig_start - 1 >= max(keep, 1) and _is_signature_line(paras[sig_start - 1]):
        sig_start -= 1
    signature = paras[sig_start:]
    body = paras[:sig_start]
    closing: list[str] = []
    if last.kind == "item" and len(body) > 1:
        closing = body[1:]
        body = body[:1]
    last.paragraphs = body
    if closing:
        blocks.append(_Block("closing", "closing", title, closing))
    if signature:
        blocks.append(_Block("signature", "signature", title, signature))
    return [b for b in blocks if b.paragraphs]


def split_sentences(text: str) -> list[str]:
    """Split Chinese/English text after sentence-ending punctuation, keeping closing quotes attached."""
    parts = [s for s in _SENTENCE_END.split(text) if s]
    # English full stops: split after ". " followed by a capital letter
    out: list[str] = []
    for part in parts:
        out.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", part) if s)
    return out


def _pieces(paragraphs: list[str], max_chars: int) -> list[str]:
    """Pack sentences into pieces of at most ``max_chars`` (a single longer sentence stays whole)."""
    text = "\n".join(paragraphs)
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph_no, paragraph in enumerate(paragraphs):
        sentences = split_sentences(paragraph)
        for i, sentence in enumerate(sentences):
            glue = "\n" if (i == 0 and paragraph_no > 0 and current) else ""
            if current and len(current) + len(glue) + len(sentence) > max_chars:
                pieces.append(current)
                current, glue = "", ""
            current += glue + sentence
    if current:
        pieces.append(current)
    return pieces


def chunk_report(text: str, source: str, max_chars: int = 700) -> list[Passage]:
    """Chunk one report's text into passages (see the module docstring)."""
    stem = Path(source).stem
    blocks = _blocks(repair_text(text), fallback_title=stem)
    passages: list[Passage] = []
    for block in blocks:
        pieces = _pieces(block.paragraphs, max_chars)
        for n, piece in enumerate(pieces, start=1):
            local = block.local_id if len(pieces) == 1 else f"{block.local_id}-p{n}"
            passages.append(
                Passage(id=f"{stem}#{local}", source=source, section=block.section, text=piece, kind=block.kind)
            )
    return passages


def load_corpus(corpus_dir: Path, max_chars: int = 700) -> list[Passage]:
    """All passages of all reports in ``corpus_dir`` (file order, then report order)."""
    passages: list[Passage] = []
    for path in corpus_files(corpus_dir):
        source = path.relative_to(corpus_dir).as_posix()
        text = read_report(path)
        if not text.strip():
            raise CorpusError(f"report {path} is empty")
        passages.extend(chunk_report(text, source, max_chars))
    _check_unique(passages)
    return passages


def _check_unique(passages: Iterable[Passage]) -> None:
    seen: set[str] = set()
    for p in passages:
        if p.id in seen:
            raise CorpusError(f"two passages share the id {p.id}: two reports with the same file stem?")
        seen.add(p.id)
