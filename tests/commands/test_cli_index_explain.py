"""``assistant index --explain FILE [--json]``: how a document is cut, without indexing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from tests import docgen
from tests.support import CORPUS_DIR


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    return tmp_path


def test_explain_the_report(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = next(CORPUS_DIR.glob("*.txt"))
    assert main(["index", "--explain", str(report)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"{report.name}: text; paragraphs separated by blank lines; levels: 一、 > （一）; title '国务院关于"
    )
    assert out[0].endswith("closing; signature")
    assert out[1] == "21 passages:"
    assert out[2].split() == [
        "preamble",
        "preamble",
        "国务院关于落实全国人大常委会对新质生产力发展情况报告审议意见的报告",
    ]
    assert out[4].split()[:3] == ["item-01", "item", "一、关于强化对新质生产力发展的统筹规划"]
    assert out[5].strip().startswith("一、关于强化对新质生产力发展的统筹规划 （一）完善新质生产力发展政策体系。推动研…")
    assert not (env / "index").exists()  # nothing was indexed


def test_explain_json_of_a_pdf(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = docgen.write_pdf(env / "report.pdf")
    assert main(["index", "--explain", str(pdf), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "report.pdf"
    assert data["layout"]["reader"] == "pdf" and data["layout"]["paragraphs"] == "page-lines"
    assert data["layout"]["pages"] == docgen.pdf_page_count(pdf) and data["layout"]["tables"] == 1
    assert data["layout"]["levels"] == ["larger font, level 2", "（一）"]
    ids = [p["id"] for p in data["passages"]]
    assert ids[:2] == ["report#preamble", "report#item-01"] and "report#table-01" in ids
    assert {"id", "source", "section", "text", "kind"} <= set(data["passages"][0])


def test_explain_errors(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--explain", str(env / "missing.pdf")]) == 2
    assert "missing.pdf is not a file" in capsys.readouterr().err
    (env / "empty.docx").write_bytes(b"")
    assert main(["index", "--explain", str(env / "empty.docx")]) == 3
    assert "empty.docx is empty (0 bytes)" in capsys.readouterr().err
    assert main(["index", "--json"]) == 2
    assert "--json goes with --explain FILE" in capsys.readouterr().err


def test_explain_shows_a_tables_rows_as_they_will_be_passages(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = docgen.write_pdf(env / "report.pdf")
    assert main(["index", "--explain", str(pdf)]) == 0
    out = [line.strip() for line in capsys.readouterr().out.splitlines()]
    at = next(i for i, line in enumerate(out) if line.startswith("table-01"))
    assert out[at].endswith(docgen.TABLE_CAPTION)
    header, first = docgen.TABLE_ROWS[:2]
    assert out[at + 1 : at + 4] == [docgen.TABLE_CAPTION, " | ".join(header), " ".join(first)]
    assert f"{first[0]}：{header[1]} {first[1]}；{header[2]} {first[2]}" in out[at + 4 :]
