"""``assistant add``, ``remove`` and ``docs``: output, JSON and exit codes, over a private corpus and index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.settings import Settings
from tests import docgen, docsamples
from tests.docsupport import cli_settings as cli_settings  # the `settings` fixture
from tests.docsupport import corpus_names


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return docsamples.write_pdf(tmp_path / "green.pdf")


def test_add_docs_remove(settings: Settings, pdf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", str(pdf)]) == 0
    out = capsys.readouterr().out
    assert "added green (pdf, 1 page, 4 passages)" in out
    assert "index: 25 passages, 4 embedded, 21 reused" in out

    assert main(["docs"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "source", "type", "passages", "pages", "added", "sha256"]
    green = next(line.split() for line in table if line.startswith("green"))
    assert green[:5] == ["green", "green.pdf", "pdf", "4", "1"] and len(green[6]) == 12

    assert main(["docs", "--json"]) == 0
    documents = json.loads(capsys.readouterr().out)["documents"]
    assert [d["id"] for d in documents] == [docgen.STEM, "green"]
    assert set(documents[1]) == {"id", "source", "type", "passages", "pages", "added", "sha256", "bytes", "indexed",
                                 "instruction_passages"}
    assert documents[1]["instruction_passages"] == 0

    assert main(["remove", "green", "--json"]) == 0
    change = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in change["removed"]] == ["green"] and change["index"]["embedded"] == 0
    assert "green.pdf" not in corpus_names(settings)


def test_add_json_and_replace(settings: Settings, pdf: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", str(pdf), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"][0]["id"] == "green"
    html = docsamples.write_html(tmp_path / "green.html")
    assert main(["add", str(html)]) == 2
    assert "a document 'green' exists already (green.pdf)" in capsys.readouterr().err
    assert main(["add", str(html), "--replace", "--json"]) == 0
    change = json.loads(capsys.readouterr().out)
    assert [d["source"] for d in change["added"]] == ["green.html"]
    assert [d["source"] for d in change["removed"]] == ["green.pdf"]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["add", "no-such-file.pdf"], 2, "not a file: no-such-file.pdf"),
        (["remove", "nope"], 2, "no document 'nope'"),
        (["remove", docgen.STEM], 2, "last indexed document"),
    ],
    ids=["missing-file", "unknown-id", "last-document"],
)
def test_exit_codes_for_bad_arguments(settings: Settings, args: list[str], code: int, says: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == code
    assert says in capsys.readouterr().err


def test_an_unreadable_file_exits_3_and_adds_nothing(settings: Settings, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    locked = docgen.write_text_pdf(tmp_path / "locked.pdf", ["滨江市"], password="pw")
    before = corpus_names(settings)
    assert main(["add", str(locked)]) == 3
    assert "error: locked.pdf is a password-protected PDF" in capsys.readouterr().err
    assert corpus_names(settings) == before


def test_docs_on_an_empty_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    assert main(["docs"]) == 0
    assert "no documents in" in capsys.readouterr().out


def test_add_waits_for_a_change_under_way_and_says_so(settings: Settings, pdf: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl
    import threading

    with (settings.index_dir / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's change or build holds the lock...
        release = threading.Timer(1.0, fcntl.flock, args=(held, fcntl.LOCK_UN))
        release.start()
        assert main(["add", str(pdf), "-q"]) == 0  # ...until it finishes, a second later
        release.join()
    assert "another build of the index" in capsys.readouterr().err
    assert "green.pdf" in corpus_names(settings)
