"""``assistant collections list|create|info|delete`` and ``--collection`` on the document commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.settings import Settings
from tests.docsupport import private_corpus

NOTICE = "# 澄州市图书馆夜间开放通知\n\n一、自2025年12月1日起，澄州市图书馆每周五、周六夜间开放至22时30分。\n"


@pytest.fixture
def settings(index_copy: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    own = private_corpus(index_copy, tmp_path)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(own.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(own.index_dir))
    monkeypatch.setenv("ASSISTANT_LOG_DB", str(tmp_path / "questions.db"))
    monkeypatch.setenv("ASSISTANT_GENERATOR", "extractive")
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    return own


def test_create_add_ask_log_and_delete(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collections", "create", "notes", "--set", "k=3"]) == 0
    assert main(["collections", "create", "Notes"]) == 2
    assert main(["collections", "create", "notes"]) == 2
    capsys.readouterr()
    notice = tmp_path / "night-hours.md"
    notice.write_text(NOTICE, encoding="utf-8")
    assert main(["add", "--collection", "notes", str(notice)]) == 0
    collections = tmp_path / "collections"
    assert (collections / "notes" / "corpus" / "night-hours.md").is_file()
    assert not (settings.corpus_dir / "night-hours.md").exists()
    capsys.readouterr()

    assert main(["collections", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["documents"]) for r in rows] == [("default", 1), ("notes", 1)]
    assert main(["collections", "info", "notes", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["settings"] == {"k": 3} and info["index_build"]

    assert main(["ask", "--collection", "notes", "--json", "澄州市图书馆夜间开放到几点？"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "22时30分" in answer["answer"] and {c["source"] for c in answer["citations"]} == {"night-hours.md"}
    assert main(["ask", "--json", "澄州市图书馆夜间开放到几点？"]) == 0
    assert json.loads(capsys.readouterr().out)["refused"]
    assert main(["log", "--collection", "notes", "--json"]) == 0
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["question"] for e in logged] == ["澄州市图书馆夜间开放到几点？"]

    assert main(["collections", "delete", "default", "--yes"]) == 2
    assert main(["collections", "delete", "notes", "--yes"]) == 0
    assert not (collections / "notes").exists()
    assert main(["collections", "info", "notes"]) == 2
