"""``assistant show`` (a passage, where it stands, its page drawn) and ``assistant docs show --file``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.settings import Settings
from tests import docgen
from tests.docsupport import cli_env
from tests.docsupport import cli_settings as cli_settings  # the `settings` fixture
from tests.pagecheck import png


@pytest.fixture
def pdf(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = docgen.write_pdf(tmp_path / "report-pdf.pdf")
    assert main(["add", str(path)]) == 0
    capsys.readouterr()
    return path


def test_show_prints_the_passage_where_it_stands_and_draws_its_page(
    pdf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "page.png"
    assert main(["show", "report-pdf#item-05", "--png", str(out), "--width", "600"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("report-pdf#item-05\ndocument: report-pdf.pdf (pdf)")
    assert "where: pp. 1–2" in printed and "section: 二、关于推进科技创新和产业创新深度融合" in printed
    assert "（五）加快科技创新成果转化应用" in printed
    assert f"wrote page 1 of report-pdf, the passage marked, to {out}" in printed
    assert png(out.read_bytes()).size[0] == 600

    assert main(["show", "report-pdf#item-05", "--png", str(out), "--page", "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["passage"]["location"]["pages"] == [1, 2] and shown["png"] == str(out)
    assert shown["document"]["id"] == "report-pdf"


def test_show_refuses_what_it_cannot_show(pdf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "report-pdf#item-99"]) == 2
    assert "no passage 'report-pdf#item-99'" in capsys.readouterr().err
    assert main(["show", "report-pdf#item-05", "--png", str(tmp_path / "p.png"), "--page", "9"]) == 2
    assert "has 4 pages; there is no page 9" in capsys.readouterr().err
    assert main(["show", "report-pdf#item-05", "--png", str(tmp_path / "p.png"), "--width", "5000"]) == 2
    assert "width must be from 200 to 2000" in capsys.readouterr().err
    text_passage = f"{docgen.STEM}#item-05"
    assert main(["show", text_passage]) == 0
    assert "where: lines " in capsys.readouterr().out
    assert main(["show", text_passage, "--png", str(tmp_path / "t.png")]) == 2
    assert "no pages to draw" in capsys.readouterr().err


def test_docs_show_writes_the_file_as_it_was_added(pdf: Path, settings: Settings, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "copy.pdf"
    assert main(["docs", "show", "report-pdf", "--file", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.read_bytes() == pdf.read_bytes()
    assert printed.splitlines()[1].startswith("report-pdf  report-pdf.pdf  pdf") and f"to {out}" in printed
    assert main(["docs", "show", "report-pdf", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "report-pdf"
    assert main(["docs", "show", "nothing-here"]) == 2
    # "-": the bytes on stdout, through a real process (a pipe, not pytest's captured text)
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "docs", "show", "report-pdf", "--file", "-"],
                         capture_output=True, env=cli_env(settings), timeout=120, check=True)
    assert run.stdout == pdf.read_bytes()
