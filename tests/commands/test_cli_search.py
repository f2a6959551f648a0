"""``assistant index`` and ``assistant search``: the real CLI over the real index and model."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.settings import PROJECT_ROOT, Settings
from assistant.storage.index import load_index
from tests.support import CORPUS_DIR

QUESTION = "截至2025年10月，培育了多少家专精特新“小巨人”企业？"


@pytest.fixture
def cli_env(index_copy: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Environment for the CLI: the real corpus, a private copy of the session index, no .env."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(CORPUS_DIR))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index_copy.index_dir))
    return index_copy


def test_search_json_contract(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", QUESTION, "-k", "3", "--json"]) == 0
    out = capsys.readouterr().out
    assert "小巨人" in out  # ensure_ascii=False: Chinese is printed as is
    payload = json.loads(out)
    assert set(payload) == {"query", "results"}
    assert payload["query"] == QUESTION
    assert len(payload["results"]) == 3
    passages = {p.id: p for p in load_index(cli_env).passages}
    for result in payload["results"]:
        assert set(result) == {"passage_id", "title", "section", "source", "text", "score", "location"}
        p = passages[result["passage_id"]]
        assert (result["text"], result["section"], result["source"]) == (p.text, p.section, p.source)
        assert p.location is not None and result["location"] == {"lines": list(p.location.lines or ())}
    assert "1.76" in payload["results"][0]["text"]
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_human_output(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "制造业单项冠军企业有多少家", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] score ")
    assert "[2] score " in out and "[3]" not in out
    assert "（四）强化企业科技创新主体地位" in out and "1557" in out


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_exits_2(cli_env: Settings, capsys: pytest.CaptureFixture[str], question: str) -> None:
    assert main(["search", question]) == 2
    assert "question is empty" in capsys.readouterr().err


@pytest.mark.parametrize("k", ["0", "999"])
def test_bad_k_exits_2(cli_env: Settings, capsys: pytest.CaptureFixture[str], k: str) -> None:
    assert main(["search", QUESTION, "-k", k]) == 2
    assert "-k must be" in capsys.readouterr().err


def test_missing_corpus_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "no-corpus"))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    assert main(["search", QUESTION]) == 4  # a read command builds nothing: it says how to
    assert "build it with `assistant index`" in capsys.readouterr().err
    assert main(["search", QUESTION, "--refresh"]) == 3
    assert "no-corpus" in capsys.readouterr().err
    assert main(["index"]) == 3


def test_empty_corpus_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "corpus").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    assert main(["index"]) == 3
    assert "holds no documents (txt/md/markdown/pdf/docx/html/htm)" in capsys.readouterr().err


def test_mismatched_index_exits_4_with_the_fix(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_CHUNK_MAX_CHARS", "500")
    assert main(["search", QUESTION]) == 4
    assert "assistant index --rebuild" in capsys.readouterr().err


def test_index_reuses_unchanged_passages(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    n = len(load_index(cli_env).passages)
    assert main(["index"]) == 0
    assert f"indexed {n} passages" in capsys.readouterr().out
    assert main(["index"]) == 0
    assert f"0 embedded, {n} reused" in capsys.readouterr().out


def test_index_rebuild_reembeds_everything(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    n = len(load_index(cli_env).passages)
    assert main(["index", "--rebuild"]) == 0
    assert f"{n} embedded, 0 reused" in capsys.readouterr().out


def test_search_over_a_stale_index_says_so_and_refreshes_only_when_asked(
    cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    report = next(corpus.glob("*.txt"))
    report.write_text(
        report.read_text(encoding="utf-8").replace("单项冠军企业 1557 家", "单项冠军企业 1600 家"), encoding="utf-8"
    )
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    built = sorted(p.name for p in cli_env.index_dir.iterdir())
    assert main(["search", "制造业单项冠军企业有多少家", "-k", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert "corpus changed" in captured.err and "`assistant index`" in captured.err and "--refresh" in captured.err
    assert "1600" not in json.loads(captured.out)["results"][0]["text"]  # the index as it was built
    assert sorted(p.name for p in cli_env.index_dir.iterdir()) == built  # nothing was written
    assert main(["search", "制造业单项冠军企业有多少家", "-k", "1", "--json", "--refresh"]) == 0
    captured = capsys.readouterr()
    assert "1 passage(s) embedded" in captured.err
    assert "1600" in json.loads(captured.out)["results"][0]["text"]


def test_a_second_index_build_says_it_waits_for_the_first(cli_env: Settings,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl
    import threading

    with (cli_env.index_dir / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another build holds the lock...
        release = threading.Timer(1.0, fcntl.flock, args=(held, fcntl.LOCK_UN))
        release.start()
        assert main(["index", "--quiet"]) == 0  # ...until it finishes, a second later
        release.join()
    assert "another build of the index" in capsys.readouterr().err


def test_search_builds_a_missing_index_in_a_real_process(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it: without an index, search says how to build
    one; with --refresh it builds it, saying so."""
    exe = PROJECT_ROOT / ".venv" / "bin" / "assistant"
    if not exe.exists():
        pytest.skip("the package is not installed in .venv (run scripts/setup)")
    # PYTHONPATH: the code of this checkout, whichever one the virtualenv was installed from
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(PROJECT_ROOT),
           "ASSISTANT_CORPUS_DIR": str(CORPUS_DIR), "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    missing = subprocess.run([str(exe), "search", QUESTION], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    assert missing.returncode == 4 and "`assistant index`" in missing.stderr
    proc = subprocess.run([str(exe), "search", QUESTION, "--json", "--refresh"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "building it now" in proc.stderr
    payload = json.loads(proc.stdout)
    assert len(payload["results"]) == 5 and "1.76" in payload["results"][0]["text"]
    again = subprocess.run(
        [str(exe), "search", "   "], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 2 and "question is empty" in again.stderr


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["search", "--help"], ["QUESTION", "--json", "-k", "examples:"]),
        (["index", "--help"], ["--rebuild", "atomically"]),
    ],
)
def test_help_texts(command: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in expected)
