"""Ingestion of the real report, and properties of the repair on synthetic page-broken text."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.core.errors import CorpusError
from assistant.core.types import Passage
from assistant.ingest import (
    chunk_report,
    cn_to_int,
    corpus_files,
    load_corpus,
    repair_text,
)
from assistant.ingest.chunk import pieces

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
REPORT = next(CORPUS.glob("*.txt"))
CN = "一二三四五六七八九十"


def _cn(n: int) -> str:
    if n <= 10:
        return CN[n - 1]
    if n < 20:
        return "十" + (CN[n - 11] if n > 10 else "")
    return CN[n // 10 - 1] + "十" + (CN[n % 10 - 1] if n % 10 else "")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    return load_corpus(CORPUS, max_chars=700)


@pytest.mark.parametrize("max_chars", [700, 150])
def test_report_passages_match_the_snapshot(max_chars: int) -> None:
    """The report comes out exactly as the chunker before the ingest package cut it: same ids,
    sections, kinds and texts (tests/fixtures/report_passages.json was written by that chunker)."""
    snapshot = json.loads((ROOT / "tests" / "fixtures" / "report_passages.json").read_text(encoding="utf-8"))
    got = [
        {
            "id": p.id,
            "source": p.source,
            "section": p.section,
            "kind": p.kind,
            "text_sha256": hashlib.sha256(p.text.encode("utf-8")).hexdigest(),
            "chars": len(p.text),
        }
        for p in load_corpus(CORPUS, max_chars=max_chars)
    ]
    assert got == snapshot[str(max_chars)]
    assert len(got) == {700: 21, 150: 53}[max_chars]


def test_one_passage_per_item_plus_front_matter_closing_and_signature(passages: list[Passage]) -> None:
    kinds = [p.kind for p in passages]
    assert kinds == ["preamble"] + ["item"] * 18 + ["closing", "signature"]
    items = [p for p in passages if p.kind == "item"]
    for n, p in enumerate(items, start=1):
        assert p.id.endswith(f"#item-{n:02d}")
        assert f"（{_cn(n)}）" in p.text


def test_sections_paths_and_ids(passages: list[Passage]) -> None:
    by_id = {p.id.split("#")[1]: p for p in passages}
    assert by_id["item-09"].section == "四、关于培育壮大新兴产业和未来产业 › （九）发展壮大新兴产业"
    assert by_id["item-13"].section.startswith("五、关于推进体制机制创新 › （十三）健全科技金融服务体系")
    assert by_id["preamble"].text.startswith("国务院关于落实全国人大常委会对新质生产力发展情况报告审议意见的报告")
    assert "全国人民代表大会常务委员会：" in by_id["preamble"].text
    assert by_id["closing"].text.startswith("我们将以习近平新时代中国特色社会主义思想为指导")
    assert _squash(by_id["signature"].text) == "国务院2025年11月27日"
    assert all(p.source == REPORT.name for p in passages)
    assert len({p.id for p in passages}) == len(passages)
    # ids are stable: chunking twice gives the same ids and hashes
    again = load_corpus(CORPUS, max_chars=700)
    assert [(p.id, p.hash) for p in again] == [(p.id, p.hash) for p in passages]


def test_page_breaks_repaired(passages: list[Passage]) -> None:
    joined = "".join(_squash(p.text) for p in passages)
    # each of these straddles a page break in the extracted text
    for fragment in [
        "大力推动区域战略深化实施",
        "截至2025年10月，累计建设企业技术中心1900余家",
        "深入实施制造业数字化转型行动",
        "全面实施农业关键核心技术攻关",
        "因地制宜激发产业创新活力",
        "将持续完善数据产权归属认定",
        "相关政策措施，组建国家创业投资引导基金",
        "职业技能等级制度",
        "强制性标准。下一步，将持续健全保护创新的法治环境",
    ]:
        assert fragment in joined, fragment
    assert "因地制宜宜激发" not in joined


def test_markers_and_numbers_normalised(passages: list[Passage]) -> None:
    text = "\n".join(p.text for p in passages)
    assert "(三)" not in text and "（三）增加高质量科技供给" in text
    assert "1900余家" in text and "1.76万家" in text and "截至2025年10月" in text
    assert not re.search(r"\d\s+[余万家个年月%]", text)


def test_no_fragment_passages(passages: list[Passage]) -> None:
    for p in passages:
        if p.kind == "signature":
            continue
        assert len(p.text) >= 100, p.id
        assert p.text.rstrip().endswith(("。", "：")), p.id


def test_no_text_lost(passages: list[Passage]) -> None:
    """Every non-whitespace character of the report is in a passage, in order, except the
    one character the extraction repeated across a page break."""
    raw = _squash(REPORT.read_text(encoding="utf-8"))
    raw = raw.replace("因地制宜宜激发", "因地制宜激发")
    raw = re.sub(r"\((\S{1,3}?)\)", r"（\1）", raw)
    assert "".join(_squash(p.text) for p in passages) == raw


def test_long_item_split_at_sentence_boundaries() -> None:
    text = REPORT.read_text(encoding="utf-8")
    passages = chunk_report(text, REPORT.name, max_chars=150)
    whole = {p.id: p for p in load_corpus(CORPUS, max_chars=700)}
    pieces = [p for p in passages if "#item-04-" in p.id]
    assert len(pieces) >= 3
    assert [p.id.split("#")[1] for p in pieces] == [f"item-04-p{i}" for i in range(1, len(pieces) + 1)]
    assert all(p.section == whole[pieces[0].id.rsplit("-p", 1)[0]].section for p in pieces)
    for piece in pieces:
        assert piece.text.endswith(("。", "；")), piece.text[-10:]
    assert "".join(p.text for p in pieces) == whole[pieces[0].id.rsplit("-p", 1)[0]].text
    # nothing lost at the small size either
    assert "".join(_squash(p.text) for p in passages) == "".join(_squash(p.text) for p in whole.values())


def test_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        corpus_files(tmp_path / "nope")
    with pytest.raises(CorpusError, match=r"holds no documents \(txt/md/markdown/pdf/docx/html/htm\)"):
        corpus_files(tmp_path)
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty.txt is empty"):
        load_corpus(tmp_path)


def test_two_documents_with_one_stem_are_named(tmp_path: Path) -> None:
    (tmp_path / "plan.txt").write_text("计划\n\n第一段正文，内容较长一些。\n", encoding="utf-8")
    (tmp_path / "plan.md").write_text("计划\n\n第一段正文，内容较长一些。\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"plan.md and plan.txt both give the passage id plan#para-001: .* rename"):
        load_corpus(tmp_path)


def test_markdown_report(tmp_path: Path) -> None:
    """A lone '#' heading is the title; it leads the first passage instead of being a fragment of its own."""
    (tmp_path / "r.md").write_text(
        "# Annual report\n\n## Energy\n\nSolar capacity grew 20% in 2024. Wind grew too.\n\n"
        "## Finance\n\nThe fund raised 3 billion yuan.\n",
        encoding="utf-8",
    )
    passages = load_corpus(tmp_path)
    assert [p.section for p in passages] == ["Energy", "Finance"]
    assert [p.id for p in passages] == ["r#s01", "r#s02"]
    assert passages[0].text == "Annual report\nEnergy\nSolar capacity grew 20% in 2024. Wind grew too."


def test_cn_to_int() -> None:
    assert [cn_to_int(s) for s in ["一", "九", "十", "十一", "十八", "二十", "二十一", "一百零二"]] == [
        1, 9, 10, 11, 18, 20, 21, 102,
    ]


def test_long_text_is_cut_at_sentence_ends_keeping_quotes_and_spaces() -> None:
    text = "他说：“好。”然后走了。Next one. Done here."
    assert pieces([text], 12) == ["他说：“好。”然后走了。", "Next one.", "Done here."]
    assert pieces([text], 100) == [text]


# ---- property: repair undoes synthetic page breaks --------------------------------------------

_sentence = st.text(alphabet="产业科技创新发展数据企业人才金融", min_size=4, max_size=30).map(lambda s: s + "。")
_item = st.lists(_sentence, min_size=2, max_size=6).map("".join)


@hsettings(max_examples=60, deadline=None)
@given(items=st.lists(_item, min_size=1, max_size=6), data=st.data())
def test_repair_joins_synthetic_page_breaks(items: list[str], data: st.DataObject) -> None:
    """Break item paragraphs at random points (optionally repeating the character at the
    break, as the extraction did); repair must give back the original paragraphs."""
    paragraphs = [f"（{_cn(i)}）{body}" for i, body in enumerate(items, start=1)]
    broken = []
    for para in paragraphs:
        cut = data.draw(st.integers(min_value=20, max_value=len(para) - 1)) if len(para) > 21 else None
        # A break between two equal characters is ambiguous (real doubling vs. extraction
        # repeat); repair assumes the repeat, so the generator never breaks there.
        if cut is None or para[cut - 1] in "。" or para[cut] in "（" or para[cut - 1] == para[cut]:
            broken.append(para)
            continue
        repeat = data.draw(st.booleans())
        head, tail = para[:cut], para[cut:]
        if repeat:
            tail = head[-1] + tail
        broken.append(head + "\n\n" + tail)
    repaired = repair_text("标题行\n\n" + "\n\n".join(broken) + "\n")
    assert repaired == ["标题行", *paragraphs]
