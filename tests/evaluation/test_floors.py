"""Fitting refusal thresholds: optimal under the cap, margins, checks after gates, cross-validation
and adopting only what generalises."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.evaluation.floors import (
    EDGE_MARGIN,
    MIN_PER_CLASS,
    Observation,
    Outcome,
    Steps,
    Tally,
    calibrate,
    cross_validate,
    fit_floor,
    folds,
    generalises,
    step_outcome,
)

R = "retrieval"


def _obs(score: float, answerable: bool, outcome: Outcome = "right", qid: str = "", lang: str = "zh",
         sentence: float | None = None) -> Observation:
    if not answerable and outcome == "right":
        outcome = "wrong"  # an unanswerable question answered is never right
    scores = {R: score} if sentence is None else {R: score, "extractive": sentence}
    return Observation(qid or f"q{score}", lang, answerable, scores, outcome)


def test_tally_counts_refusals_under_the_floor() -> None:
    obs = [_obs(0.9, True), _obs(0.8, True), _obs(0.85, False), _obs(0.7, False, "refused")]
    t = Tally.of(obs, {R: 0.86})
    assert (t.answerable, t.right, t.false_refusals, t.unanswerable, t.rejected) == (2, 1, 1, 2, 2)
    assert t.correct == 3 and t.false_refusal_rate == 0.5 and t.negative_rejection == 1.0


def test_a_separating_floor_sits_midway_between_the_classes() -> None:
    obs = [_obs(s, True) for s in (0.90, 0.91, 0.95)] + [_obs(s, False) for s in (0.80, 0.84)]
    fit = fit_floor(obs, R, max_false_refusals=0.0)
    assert fit.low == 0.84 and fit.high == 0.90
    assert fit.floor == pytest.approx(0.87)
    assert fit.tally.correct == 5 and fit.cap_met


def test_the_cap_keeps_answerable_questions_even_when_refusing_them_would_score_more() -> None:
    # a floor over 0.86 rejects both unanswerable questions (net +1) but refuses the 0.82 answerable
    # one: a false-refusal rate of 1/4
    obs = [_obs(0.82, True), _obs(0.9, True), _obs(0.92, True), _obs(0.95, True), _obs(0.85, False), _obs(0.86, False)]
    loose = fit_floor(obs, R, max_false_refusals=0.30)
    strict = fit_floor(obs, R, max_false_refusals=0.10)
    assert loose.floor == pytest.approx(0.88) and loose.tally.false_refusals == 1 and loose.tally.correct == 5
    assert strict.floor <= 0.82 and strict.tally.false_refusals == 0 and strict.tally.correct == 4


def test_the_floor_in_force_is_kept_when_nothing_beats_it() -> None:
    obs = [_obs(s, True) for s in (0.90, 0.92)] + [_obs(0.91, False, "refused")]
    assert fit_floor(obs, R, 0.1, current=0.8).floor == 0.8


def test_a_floor_below_every_score_keeps_a_margin() -> None:
    fit = fit_floor([_obs(s, True) for s in (0.90, 0.92)], R, 0.0)
    assert fit.floor == pytest.approx(0.90 - EDGE_MARGIN) and math.isinf(fit.low)


def test_an_unreachable_cap_takes_the_fewest_false_refusals() -> None:
    obs = [_obs(0.9, True, "refused"), _obs(0.95, True), _obs(0.8, False)]
    fit = fit_floor(obs, R, 0.1)
    assert not fit.cap_met
    assert fit.tally.false_refusals == 1  # the generator's own refusal; the floor adds none
    assert fit.tally.rejected == 1  # and still refuses the unanswerable question below both


def test_a_question_another_floor_refuses_does_not_place_this_one() -> None:
    # the 0.95 unanswerable question is refused by the sentence floor already: the retrieval
    # floor need not climb over the answerable ones to reject it
    obs = [_obs(s, True, sentence=0.9) for s in (0.90, 0.92)] + [_obs(0.95, False, sentence=0.7)]
    fit = fit_floor(obs, R, 0.0, others={"extractive": 0.8})
    assert fit.tally.correct == 3 and fit.floor < 0.90


def test_a_check_threshold_changes_the_outcome_where_the_recheck_said() -> None:
    steps: Steps = ((0.3, "right"), (0.6, "wrong"), (0.8, "refused"))
    assert [step_outcome(steps, t) for t in (0.1, 0.3, 0.59, 0.6, 0.79, 0.9)] == [
        "right", "right", "right", "wrong", "wrong", "refused"]
    # an unanswerable question answered under a loose check and refused under a strict one, and an
    # answerable one that survives up to 0.7: the fit sits among the values tried between them
    obs = [Observation("u", "zh", False, {R: 0.9}, "wrong", {"cite": ((0.3, "wrong"), (0.5, "refused"))}),
           Observation("a", "zh", True, {R: 0.9}, "right", {"cite": ((0.3, "right"), (0.71, "refused"))})]
    fit = fit_floor(obs, "cite", 0.0, current=0.4)
    assert 0.5 <= fit.floor <= 0.7 and fit.tally.correct == 2
    assert fit.floor == pytest.approx(0.6)  # the middle of the winning run 0.50-0.70
    # a gate refuses in front of the check
    assert obs[1].under({R: 0.95, "cite": 0.6}) == "refused"


def test_fitted_floors_are_adopted_only_when_they_beat_the_floors_in_force_out_of_sample() -> None:
    assert generalises(Tally(10, 8, 1, 10, 8), Tally(10, 8, 1, 10, 7), 0.1)
    assert not generalises(Tally(10, 8, 1, 10, 7), Tally(10, 8, 1, 10, 7), 0.1)  # no better
    assert not generalises(Tally(10, 6, 3, 10, 10), Tally(10, 8, 1, 10, 7), 0.1)  # better, but breaks the cap
    # a lucky floor: in-sample, 0.908 rejects two unanswerable questions for one false refusal
    # (net +1); held out, each fold's floor misses more than it catches
    n = MIN_PER_CLASS + 3
    obs = [_obs(0.90 + i / 100, True, qid=f"a{i}") for i in range(n)]
    obs += [_obs(0.80 + i / 1000, False, "refused", qid=f"n{i}") for i in range(n - 2)]
    obs += [_obs(0.905, False, qid="lucky1"), _obs(0.906, False, qid="lucky2")]
    cal = calibrate(obs, {"min_relevance": 0.8}, 0.2)
    assert cal.languages["zh"]["fitted"] == {"min_relevance": pytest.approx(0.908)}
    fitted, before, held_out = (cal.tallies(w).correct for w in ("fitted_in_sample", "before", "cross_validated"))
    assert fitted > before > held_out
    assert cal.values == {} and not cal.languages["zh"]["adopted"]
    assert cal.languages["zh"]["note"].startswith("kept: fitted floors handled")
    assert cal.tallies("after") == cal.tallies("before")


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
    fit = fit_floor(obs, R, cap)
    grid = sorted({o.scores[R] for o in obs}) + [2.0]
    tallies = [Tally.of(obs, {R: f}) for f in grid]
    feasible = [t for t in tallies if (t.false_refusal_rate or 0.0) <= cap]
    assert Tally.of(obs, {R: fit.floor}) == fit.tally
    if feasible:
        assert fit.cap_met
        assert (fit.tally.false_refusal_rate or 0.0) <= cap
        assert fit.tally.correct == max(t.correct for t in feasible)


@hsettings(max_examples=100, deadline=None)
@given(observations)
def test_folds_partition_the_questions_and_cross_validation_scores_each_once(obs: list[Observation]) -> None:
    parts = folds(obs, 5, seed=1)
    assert sorted(map(id, (o for p in parts for o in p))) == sorted(map(id, obs))
    assert folds(obs, 5, seed=1) == parts
    cv = cross_validate(obs, {R: 0.8}, 0.1)
    assert cv.tally.answerable + cv.tally.unanswerable == len(obs)


def test_calibrate_fits_each_language_that_has_enough_questions() -> None:
    n = MIN_PER_CLASS + 3  # the training folds of cross-validation need enough too
    zh = [_obs(0.9 + i / 1000, True, qid=f"a{i}") for i in range(n)]
    zh += [_obs(0.8 + i / 1000, False, qid=f"n{i}") for i in range(n)]
    en = [_obs(0.7, True, lang="en"), _obs(0.9, False, lang="en")]
    cal = calibrate(zh + en, {"min_relevance": 0.8, "min_relevance_crosslingual": 0.7}, 0.08)
    assert cal.values == {"min_relevance": pytest.approx((0.807 + 0.9) / 2)}  # English: too few questions, not pinned
    assert cal.languages["en"]["note"].startswith("kept")
    assert cal.tallies("after").correct == 2 * n + 1 and cal.tallies("before").correct == n + 1
    assert cal.languages["zh"]["cross_validated"].correct == 2 * n
    # the held-out estimate of what was adopted: Chinese cross-validated, English as it was
    assert cal.tallies("after_held_out") == cal.languages["zh"]["cross_validated"] + cal.languages["en"]["before"]
    report = cal.report()
    assert report["after"] == cal.values and report["overall"]["after"]["correct"] == 2 * n + 1
