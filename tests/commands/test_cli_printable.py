"""What the CLI prints and exports carries no terminal escape sequence or control character, whatever a
stranger typed into a question, a comment or a correction (assistant/core/printable.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.printable import printable
from assistant.questionlog import FeedbackEntry, LogStore
from tests.questionlog.test_questionlog_store import _entry
from tests.support import CORPUS_DIR

#: clear the screen, retitle the window, red text, an 8-bit CSI, a carriage return, a bidi override
HOSTILE = "\x1b[2J\x1b]0;owned\x07\x1b[31m\x9b1;1H\r\u202e"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def log_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "questions.db"
    monkeypatch.setenv("ASSISTANT_LOG_DB", str(db))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(CORPUS_DIR))
    monkeypatch.chdir(tmp_path)
    return db


def test_printable_drops_whole_sequences_and_keeps_text() -> None:
    assert printable(f"制造业{HOSTILE}单项冠军\t1557家\n") == "制造业单项冠军\t1557家\n"
    assert printable("\x1b(B\x1bc\x1b[?25l\x1bP1;2q\x1b\\ok\x1b") == "ok"
    assert printable("plain English, 中文，figures 5.86%") == "plain English, 中文，figures 5.86%"


def test_log_list_show_and_export_print_no_control_characters(
    log_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LogStore(log_db)
    entry = _entry(f"{HOSTILE}制造业单项冠军企业有多少家？{HOSTILE}")
    store.insert([entry])
    store.add_feedback(FeedbackEntry(answer_id=entry.answer_id, rating="down", comment=f"数字不对{HOSTILE}",
                                     correction=f"{HOSTILE}1557家\x1b[0m"))
    for args in (["log"], ["log", "show", entry.answer_id], ["log", "--json"], ["log", "show", entry.answer_id,
                                                                                "--json"]):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert not CONTROL.search(out), (args, out)
        assert "制造业单项冠军企业有多少家？" in (json.loads(out.splitlines()[0])["question"] if "--json" in args
                                                 and "show" not in args else out)
    assert main(["log", "show", entry.answer_id]) == 0
    assert "correction 1557家" in capsys.readouterr().out

    exported = tmp_path / "cases.jsonl"
    assert main(["log", "export", "--as-eval", str(exported)]) == 0
    case = json.loads(exported.read_text(encoding="utf-8").splitlines()[1])
    assert case["question"] == "制造业单项冠军企业有多少家？"
    # the digits of the sequences (2, 0, 31, 1) are not read as figures: only the correction's is
    assert case["review"].startswith("no retrieved passage states 1557:"), case
