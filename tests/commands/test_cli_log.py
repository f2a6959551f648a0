"""``assistant log``: listing, filters, ``show``, retention, and the round trip
``POST /v1/feedback`` → ``assistant log export --as-eval`` → ``assistant eval`` over the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from assistant import evaluation as ev
from assistant.api import create_app
from assistant.cli import main
from assistant.core.settings import Settings
from assistant.questionlog import FeedbackEntry, LogStore
from assistant.questionlog.records import entry_for, new_answer_id
from tests.logsupport import make_answer
from tests.questionlog.test_questionlog_store import _entry
from tests.servers import serve
from tests.support import CORPUS_DIR


@pytest.fixture
def log_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "questions.db"
    monkeypatch.setenv("ASSISTANT_LOG_DB", str(db))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(CORPUS_DIR))
    return db


@pytest.fixture
def filled(log_db: Path) -> dict[str, str]:
    """Three answers: an old refusal, a down-rated answer with a correction, a fresh one."""
    store = LogStore(log_db)
    old = _entry("2025年我国GDP增长率是多少？", refused=True, days_ago=5)
    down, fresh = _entry("单项冠军企业有多少家？", days_ago=1), _entry()
    store.insert([old, down, fresh])
    store.add_feedback(FeedbackEntry(answer_id=down.answer_id, rating="down", comment="数字错了", correction="1557家"))
    return {"old": old.answer_id, "down": down.answer_id, "fresh": fresh.answer_id}


def test_log_lists_newest_first_and_filters(filled: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in lines] == [filled[k][:8] for k in ("fresh", "down", "old")]
    assert "👎" in lines[1] and "refused" in lines[2] and "单项冠军企业有多少家？" in lines[1]

    assert main(["log", "--refused"]) == 0
    out = capsys.readouterr().out
    assert filled["old"][:8] in out and filled["down"][:8] not in out
    assert main(["log", "--down", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["answer_id"], r["rating"], r["feedback"][0]["correction"]) for r in rows] == [
        (filled["down"], "down", "1557家")]
    assert main(["log", "--since", "2099-01-01"]) == 0
    assert capsys.readouterr().out == ""


def test_log_show_prints_one_answer_in_full(filled: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "show", filled["down"][:10]]) == 0
    out = capsys.readouterr().out
    assert filled["down"] in out and "correction 1557家" in out and "comment    数字错了" in out
    assert "client key-0a1b2c3d" in out and "index    build-1" in out
    assert main(["log", "show", filled["down"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rating"] == "down"


def test_log_errors_have_their_exit_codes(filled: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "show", "ffffffffff"]) == 2
    assert "no logged answer with id 'ffffffffff'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["log", "--since", "last tuesday"])
    assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_log_without_a_log_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_LOG_DB", str(tmp_path / "none.db"))
    assert main(["log"]) == 0
    assert "no question log at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_log_prunes_past_the_retention_period(filled: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_LOG_RETENTION_DAYS", "3")
    assert main(["log", "--json"]) == 0
    listed = {json.loads(x)["answer_id"] for x in capsys.readouterr().out.splitlines()}
    assert listed == {filled["down"], filled["fresh"]}


def test_feedback_export_and_eval_round_trip(built_index_settings: Settings, log_db: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built_index_settings.index_dir))
    settings = built_index_settings.model_copy(update={"generator": "extractive", "log_db": log_db})
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as api:
        def ask(question: str) -> str:
            return str(api.post("/v1/ask", json={"question": question}).json()["answer_id"])

        def rate(answer_id: str, rating: str, **texts: str) -> None:
            assert api.post("/v1/feedback", json={"answer_id": answer_id, "rating": rating, **texts}).status_code == 201

        # the extractive generator refuses this reworded question; the user gives the figure
        wrong = ask("全国的研究开发资金里，由公司出的份额大概是多少？")
        rate(wrong, "down", comment="报告里有", correction="企业研发经费投入占全社会比重超77%")
        ask("2025年我国GDP增长率是多少？")  # refused, nobody rates it
        rate(ask("制造业单项冠军企业有多少家？"), "up")  # right: not a case

    out = tmp_path / "from-log.jsonl"
    assert main(["log", "export", "--as-eval", str(out)]) == 0
    assert "wrote 2 eval case(s)" in capsys.readouterr().err
    header, *lines = map(json.loads, out.read_text(encoding="utf-8").splitlines())
    assert Path(header["eval_set"]["corpus"]) == CORPUS_DIR.resolve()  # the documents the phrases were checked on
    cases = {c["id"]: c for c in lines}
    case = cases[f"log-{wrong[:12]}"]
    assert (case["answerable"], case["gold"], case["key_facts"]) == (
        True, ["企业研发经费投入占全社会比重超77%"], [["77%", "77％"]])

    labels = tmp_path / "labels.jsonl"  # a two-pair judge sample keeps the run short
    pairs = ev.DEFAULT_LABELS[0].read_text(encoding="utf-8").splitlines()[:2]
    labels.write_text("\n".join(pairs) + "\n", encoding="utf-8")
    code = main(["eval", str(out), "--generator", "extractive", "--out", str(tmp_path / "eval"),
                 "--labels", str(labels), "--no-progress"])
    assert code in (0, 1)  # 1: these are the hard cases, under the suite's thresholds
    results = json.loads((tmp_path / "eval" / "results.json").read_text(encoding="utf-8"))
    records = {r["id"]: r for r in results["runs"][0]["records"]}
    assert set(records) == set(cases)
    assert records[case["id"]]["recall_at_5"] == 1.0  # the gold phrase names a passage retrieval finds
    assert "facts_all" in records[case["id"]] and "error" not in records[case["id"]]
    review = next(r for r in records.values() if r["id"] != case["id"])
    assert review["answerable"] is False and "nobody rated it" in review["review"]


def test_entries_round_trip_through_the_store_unchanged(log_db: Path) -> None:
    entry = entry_for(make_answer("问题？", dropped=["一句。"]), answer_id=new_answer_id(), query="问题", channel="cli",
                      client=None, index_build=None)
    LogStore(log_db).insert([entry])
    assert LogStore(log_db).get(entry.answer_id) == entry


def test_ask_json_returns_the_answer_id_under_which_it_was_logged(built_index_settings: Settings, log_db: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built_index_settings.index_dir))
    assert main(["ask", "制造业单项冠军企业有多少家？", "--generator", "extractive", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    entry = LogStore(log_db).get(answer["answer_id"])  # written before the command returned
    assert (entry.channel, entry.client, entry.answer, entry.refused) == ("cli", None, answer["answer"], False)
    assert entry.index_build and entry.index_build.startswith("build-")

    monkeypatch.setenv("ASSISTANT_LOG_ENABLED", "false")
    assert main(["ask", "制造业单项冠军企业有多少家？", "--generator", "extractive", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answer_id"] is None
    assert LogStore(log_db).count() == 1
