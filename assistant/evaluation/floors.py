"""Fitting the refusal thresholds to a corpus: what ``assistant calibrate EVALSET`` computes
(the answers it fits on come from :mod:`assistant.evaluation.observe`).

(Not :mod:`assistant.evaluation.calibration`, which measures the eval judge's error rate.)

The assistant refuses when the evidence is not close enough to the question. Three thresholds,
each with a Chinese and an English value or counterpart:

* retrieval, before generating: the best passage's dense cosine (``min_relevance``,
  ``min_relevance_crosslingual``);
* the extractive generator: the best eligible sentence's cosine (``extractive_min_cosine``,
  ``extractive_min_cosine_crosslingual``);
* the citation check, after generating: a Chinese sentence's bigram overlap with the passage it
  cites (``cite_min_overlap``, fitted on Chinese questions), an English sentence's cosine to it
  (``cite_min_crosslingual``, fitted on English questions). Sentences that fail are dropped; an
  answer left with none is refused.

Their values were set on one report, but scores depend on the corpus (how many passages, how
alike, which languages) and on the embedding model, so each corpus gets its own, fitted on an
eval set's answerable and unanswerable questions.

How: every question is answered once with the two floors off, recording the score each floor is
compared with, and the outcome (right: every key fact stated; wrong; refused) under each
citation threshold of a grid, by checking the same draft again. A floor is a gate in front of
the rest, so the outcome under any thresholds follows: refused when a score is under its floor,
else the outcome under the citation threshold. (One approximation: an extractive floor between
the two sentences an answer quotes would drop the second; that window is
``extractive_second_margin`` wide, and the fit treats the answer as unchanged there.) For each
language, one threshold at a time (two rounds), the value with the most questions handled right
(answerable ones answered right, unanswerable ones refused) whose false-refusal rate stays under
a cap wins; ties go to the value in force, else to the middle of the widest run of equally good
values, so a new question a little off the sample is not tipped. Cross-validation (fit on k-1
folds, score the held-out fold) estimates how the fitted values do on questions they were not
fitted on; a language's fitted values are adopted only when they beat the values in force
there. The result goes to ``calibration.json`` beside the index, which
:class:`assistant.core.settings.Settings` reads; an explicit ``ASSISTANT_*`` setting still wins.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.core.calibration import CALIBRATED_SETTINGS

if TYPE_CHECKING:
    pass

#: a floor below (above) every recorded score sits this far from the nearest one: about the
#: spread of one question's cosines across rewordings, so off-topic noise stays refused
EDGE_MARGIN = 0.02
#: fewer questions of a class than this in a language, and its floors are not fitted: a floor
#: fitted on two unanswerable questions would move on noise
MIN_PER_CLASS = 5
#: coordinate-ascent rounds over the floors of one language (a second round rarely moves one)
ROUNDS = 2

Outcome = Literal["right", "wrong", "refused"]
#: a gate refuses when its score is under the floor; a check changes the outcome in other ways
Kind = Literal["gate", "check"]


@dataclass(frozen=True)
class Floor:
    """A calibratable threshold: the setting that holds it, its stage, kind and language."""

    setting: str
    stage: str  # "retrieval", "extractive" or "cite"
    language: str
    kind: Kind = "gate"


FLOORS: tuple[Floor, ...] = (
    Floor("min_relevance", "retrieval", "zh"),
    Floor("min_relevance_crosslingual", "retrieval", "en"),
    Floor("extractive_min_cosine", "extractive", "zh"),
    Floor("extractive_min_cosine_crosslingual", "extractive", "en"),
    Floor("cite_min_overlap", "cite", "zh", "check"),
    Floor("cite_min_crosslingual", "cite", "en", "check"),
)
assert tuple(f.setting for f in FLOORS) == CALIBRATED_SETTINGS  # one list, in the file's module
#: the floors switched off while observing (cosines are never below -1)
GATE_SETTINGS: tuple[str, ...] = tuple(f.setting for f in FLOORS if f.kind == "gate")
FLOOR_OFF = -1.0
#: the citation thresholds tried (overlap shares and cosines both live here in practice)
CHECK_GRID: tuple[float, ...] = tuple(round(0.30 + i / 100, 2) for i in range(66))


# ---- observations and their tallies ------------------------------------------------------------


#: a check's outcomes: ``(threshold, outcome)`` pairs by rising threshold; a threshold takes the
#: outcome of the highest pair at or under it (the lowest pair's below them all)
Steps = tuple[tuple[float, Outcome], ...]


def step_outcome(steps: Steps, threshold: float) -> Outcome:
    """The outcome ``steps`` gives at ``threshold``."""
    outcome = steps[0][1]
    for value, o in steps:
        if value > threshold + 1e-12:
            break
        outcome = o
    return outcome


@dataclass(frozen=True)
class Observation:
    """One eval question answered with the floors off."""

    qid: str
    language: str
    answerable: bool
    #: per gate stage, the score its floor is compared with (-inf: nothing to compare)
    scores: Mapping[str, float]
    #: the outcome with the floors off and the checks at the values in force:
    #: ``right`` (every key fact stated), ``wrong`` or ``refused``
    outcome: Outcome
    #: per check stage, the outcome under each threshold tried
    checks: Mapping[str, Steps] = field(default_factory=dict)

    def under(self, floors: Mapping[str, float]) -> Outcome:
        """The outcome with ``floors`` (stage -> threshold) in force."""
        if any(self.scores.get(stage, math.inf) < f for stage, f in floors.items() if stage not in self.checks):
            return "refused"
        for stage, steps in self.checks.items():
            if stage in floors:
                return step_outcome(steps, floors[stage])
        return self.outcome


@dataclass(frozen=True)
class Tally:
    """How a set of questions fares under some floors."""

    answerable: int = 0
    right: int = 0  # answerable, answered with every key fact
    false_refusals: int = 0
    unanswerable: int = 0
    rejected: int = 0  # unanswerable and refused

    @classmethod
    def of(cls, observations: Iterable[Observation], floors: Mapping[str, float]) -> Tally:
        """Tally ``observations`` under ``floors`` (stage -> floor)."""
        a = r = fr = u = rej = 0
        for o in observations:
            outcome = o.under(floors)
            if o.answerable:
                a += 1
                r += outcome == "right"
                fr += outcome == "refused"
            else:
                u += 1
                rej += outcome == "refused"
        return cls(a, r, fr, u, rej)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.answerable + other.answerable, self.right + other.right,
                     self.false_refusals + other.false_refusals, self.unanswerable + other.unanswerable,
                     self.rejected + other.rejected)

    @property
    def correct(self) -> int:
        """Questions handled right: answered right, or refused when unanswerable."""
        return self.right + self.rejected

    @property
    def false_refusal_rate(self) -> float | None:
        return self.false_refusals / self.answerable if self.answerable else None

    @property
    def negative_rejection(self) -> float | None:
        return self.rejected / self.unanswerable if self.unanswerable else None

    @property
    def key_fact_accuracy(self) -> float | None:
        return self.right / self.answerable if self.answerable else None

    def as_dict(self) -> dict[str, float | int | None]:
        """Counts and rates (rounded), for reports and the calibration file."""
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "answerable": self.answerable, "unanswerable": self.unanswerable, "correct": self.correct,
            "key_fact_accuracy": r(self.key_fact_accuracy), "negative_rejection": r(self.negative_rejection),
            "false_refusal_rate": r(self.false_refusal_rate),
        }


# ---- fitting one floor ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FloorFit:
    """A fitted threshold, the run of equally good values it sits in, and the tally there."""

    floor: float
    low: float  # a gate: the highest recorded score it refuses (-inf: none); a check: the run's first value
    high: float  # a gate: the lowest recorded score it lets through (+inf: none); a check: the run's last value
    tally: Tally
    cap_met: bool


def _gate_options(observations: Sequence[Observation], stage: str,
                  others: Mapping[str, float]) -> list[tuple[float, float, float]]:
    """Candidate floors of a gate as ``(low, high, probe)``: the gaps between recorded scores of
    questions the floor can still change; ``probe`` (= ``high``) refuses exactly the scores <= ``low``."""
    scores = sorted({o.scores[stage] for o in observations
                     if stage in o.scores and math.isfinite(o.scores[stage]) and o.under(others) != "refused"})
    bounds = [-math.inf, *scores, math.inf]
    return [(low, high, high) for low, high in zip(bounds, bounds[1:], strict=False)]


def _gate_place(low: float, high: float) -> float:
    if math.isinf(low) and math.isinf(high):
        return FLOOR_OFF
    if math.isinf(low):
        return high - EDGE_MARGIN
    if math.isinf(high):
        return low + EDGE_MARGIN
    return (low + high) / 2


def fit_floor(observations: Sequence[Observation], stage: str, max_false_refusals: float,
              others: Mapping[str, float] | None = None, current: float | None = None) -> FloorFit:
    """The threshold of ``stage`` that handles the most questions right with a false-refusal rate
    at most ``max_false_refusals``, the other stages' thresholds held at ``others``.

    When no value meets the cap (other steps already refuse too many answerable questions), the
    values with the fewest false refusals are the candidates instead (``cap_met`` is False). Ties
    go to ``current`` (the value in force: the sample gives no reason to move it), else to the
    middle of the widest run of equally good values.
    """
    others = {k: v for k, v in (others or {}).items() if k != stage}
    check = any(stage in o.checks for o in observations)
    options = [(g, g, g) for g in sorted({*CHECK_GRID, *([current] if current is not None else [])})] if check \
        else _gate_options(observations, stage, others)
    tallies = [Tally.of(observations, {**others, stage: probe}) for _, _, probe in options]
    rates = [t.false_refusal_rate or 0.0 for t in tallies]
    cap_met = min(rates) <= max_false_refusals
    limit = max_false_refusals if cap_met else min(rates)
    best = max(t.correct for t, rate in zip(tallies, rates, strict=True) if rate <= limit + 1e-12)
    wins = [rate <= limit + 1e-12 and t.correct == best for t, rate in zip(tallies, rates, strict=True)]
    # runs of consecutive winning options (with the same tally: equally good, and the same answers)
    runs: list[list[int]] = []
    for i, win in enumerate(wins):
        if win and runs and runs[-1][-1] == i - 1 and tallies[i] == tallies[i - 1]:
            runs[-1].append(i)
        elif win:
            runs.append([i])
    spans = [(options[r[0]][0], options[r[-1]][1], r) for r in runs]
    if current is not None:
        for low, high, r in spans:
            if (low <= current <= high) if check else (low < current <= high):
                return FloorFit(current, low, high, tallies[r[0]], cap_met)
    # the widest run; of two unbounded ones (equal widths) the lower value, which refuses less
    low, high, r = max(spans, key=lambda sp: (sp[1] - sp[0], -sp[1]))
    if check:  # a value tried, the one nearest the middle: between tried values the outcome is unknown
        floor = min((options[i][2] for i in r), key=lambda g: abs(g - (low + high) / 2))
    else:
        floor = _gate_place(low, high)
    return FloorFit(floor, low, high, tallies[r[0]], cap_met)


# ---- fitting a language's floors -------------------------------------------------------------------


@dataclass
class LanguageFit:
    """The fitted floors of one language (stage -> floor) and whether the cap could be met."""

    floors: dict[str, float]
    cap_met: bool = True
    fitted: bool = True
    note: str = ""


def fit_language(observations: Sequence[Observation], current: Mapping[str, float],
                 max_false_refusals: float) -> LanguageFit:
    """Fit the floors of the stages in ``current`` (stage -> floor in force) on one language's
    questions, one floor at a time, :data:`ROUNDS` rounds."""
    n_ans = sum(o.answerable for o in observations)
    n_neg = len(observations) - n_ans
    if min(n_ans, n_neg) < MIN_PER_CLASS:
        note = f"kept: {n_ans} answerable and {n_neg} unanswerable questions (fewer than {MIN_PER_CLASS} of a kind)"
        return LanguageFit(dict(current), fitted=False, note=note)
    floors = dict(current)
    cap_met = True
    for _ in range(ROUNDS):
        for stage in current:
            fit = fit_floor(observations, stage, max_false_refusals, floors, current[stage])
            floors[stage] = fit.floor
            cap_met = fit.cap_met
    note = "" if cap_met else f"no floors keep false refusals under {max_false_refusals:.0%}: fewest possible chosen"
    return LanguageFit(floors, cap_met, note=note)


# ---- cross-validation ------------------------------------------------------------------------------


def folds(observations: Sequence[Observation], k: int, seed: int = 0) -> list[list[Observation]]:
    """``k`` folds stratified by answerability, in a seeded random order (reruns agree)."""
    rng = random.Random(seed)
    out: list[list[Observation]] = [[] for _ in range(k)]
    i = 0
    for group in (True, False):
        members = [o for o in observations if o.answerable is group]
        rng.shuffle(members)
        for o in members:
            out[i % k].append(o)
            i += 1
    return [f for f in out if f]


@dataclass
class CrossValidation:
    """Held-out tallies summed over the folds, and the floors each fold fitted."""

    tally: Tally = field(default_factory=Tally)
    floors: list[dict[str, float]] = field(default_factory=list)


def cross_validate(observations: Sequence[Observation], current: Mapping[str, float], max_false_refusals: float,
                   k: int = 5, seed: int = 0) -> CrossValidation:
    """Fit on all folds but one, tally the one left out, for each fold in turn."""
    cv = CrossValidation()
    parts = folds(observations, k, seed)
    for i, held_out in enumerate(parts):
        train = [o for j, part in enumerate(parts) if j != i for o in part]
        fit = fit_language(train, current, max_false_refusals)
        cv.floors.append({s: round(f, 4) for s, f in fit.floors.items()})
        cv.tally = cv.tally + Tally.of(held_out, fit.floors)
    return cv


# ---- the whole calibration -------------------------------------------------------------------------


#: the tallies a calibration reports, in order
TALLIES = ("before", "fitted_in_sample", "cross_validated", "after", "after_held_out")


@dataclass
class Calibration:
    """Fitted floors for every language, with the figures before, after and cross-validated."""

    values: dict[str, float]  # setting name -> fitted value
    before: dict[str, float]  # setting name -> value in force while calibrating
    languages: dict[str, dict[str, Any]]

    def tallies(self, which: str) -> Tally:
        """One of :data:`TALLIES`, summed over languages: ``before`` (the values in force),
        ``fitted_in_sample``, ``cross_validated`` (the fitting scored on held-out folds), ``after``
        (the adopted values, in-sample) or ``after_held_out`` (their held-out estimate)."""
        total = Tally()
        for lang in self.languages.values():
            total = total + lang[which]
        return total

    def report(self) -> dict[str, Any]:
        """The JSON-ready summary the calibration file carries."""
        return {
            "before": {**self.before}, "after": {**self.values},
            "overall": {w: self.tallies(w).as_dict() for w in TALLIES},
            "languages": {
                lang: {k: (v.as_dict() if isinstance(v, Tally) else v) for k, v in info.items()}
                for lang, info in self.languages.items()
            },
        }


def generalises(cv: Tally, before: Tally, max_false_refusals: float) -> bool:
    """Whether fitted floors did better than the floors in force on questions they were not
    fitted on: more handled right, without breaking the cap where the floors in force kept it."""
    cv_fr, before_fr = cv.false_refusal_rate or 0.0, before.false_refusal_rate or 0.0
    return cv.correct > before.correct and (cv_fr <= max_false_refusals or cv_fr <= before_fr)


def calibrate(observations: Sequence[Observation], in_force: Mapping[str, float], max_false_refusals: float,
              *, folds_k: int = 5, seed: int = 0) -> Calibration:
    """Fit every floor in ``in_force`` (setting name -> value) that the observations carry scores
    for, language by language. A language's fitted floors are adopted only when cross-validation
    shows they generalise (:func:`generalises`); a few lucky questions do not move them."""
    values: dict[str, float] = {}
    languages: dict[str, dict[str, Any]] = {}
    for lang in sorted({o.language for o in observations}):
        obs = [o for o in observations if o.language == lang]
        floors = [f for f in FLOORS if f.language == lang and f.setting in in_force
                  and any(f.stage in (o.checks if f.kind == "check" else o.scores) for o in obs)]
        current: dict[str, float] = {f.stage: in_force[f.setting] for f in floors}
        before = Tally.of(obs, current)
        fit = fit_language(obs, current, max_false_refusals)
        cv = cross_validate(obs, current, max_false_refusals, folds_k, seed) if fit.fitted else None
        note = fit.note
        adopted = cv is not None and generalises(cv.tally, before, max_false_refusals)
        if cv is not None and not adopted:
            note = (f"kept: fitted floors handled {cv.tally.correct}/{len(obs)} held-out questions right, "
                    f"the floors in force {before.correct}/{len(obs)}")
        if adopted:  # an unadopted floor is not pinned: it keeps following the settings' default
            values.update({f.setting: round(fit.floors[f.stage], 4) for f in floors})
        chosen = fit.floors if adopted else current
        languages[lang] = {
            "floors": {f.setting: [in_force[f.setting], round(chosen[f.stage], 4)] for f in floors},
            "fitted": {f.setting: round(fit.floors[f.stage], 4) for f in floors},
            "adopted": adopted,
            "before": before,
            "after": Tally.of(obs, chosen),
            "fitted_in_sample": Tally.of(obs, fit.floors),
            "cross_validated": cv.tally if cv else before,
            # what the adopted values should do on new questions: the held-out figures where fitted
            # values were adopted, the values in force (fitted on nothing here) elsewhere
            "after_held_out": cv.tally if cv and adopted else before,
            "fold_floors": cv.floors if cv else [],
            "note": note,
        }
    return Calibration(values, {s: v for s, v in in_force.items() if s in values}, languages)
