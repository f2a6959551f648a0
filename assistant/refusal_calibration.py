"""Fitting the refusal floors to a corpus: ``assistant calibrate EVALSET``.

The assistant refuses before generating when the best passage is not similar enough to the
question: top dense cosine below ``min_relevance`` (Chinese questions) or
``min_relevance_crosslingual`` (English ones). Those floors were set on one report; cosines
depend on the corpus (how many passages, how alike they are, which languages), so each corpus
gets its own, fitted on an eval set's answerable and unanswerable questions.

(Not to be confused with :mod:`assistant.evaluation.calibration`, which measures the eval
judge's error rate on hand labels.)

How a floor is fitted: every question is answered once with the floor off, recording its top
dense cosine and the outcome (right, wrong or refused by a later step). The floor is a gate in
front of everything else, so the outcome under any floor follows exactly: refused when the
cosine is under it, else the recorded outcome. Among the floors whose false-refusal rate stays
under a cap, the one with the most questions handled right (answerable ones answered with
every key fact, unanswerable ones refused) wins; ties go to the widest such gap between
recorded cosines, and the floor sits in its middle (a margin on both sides, so a new question
a little off the sample is not tipped). Cross-validation (fit on k-1 folds, score the held-out
fold) estimates how the fitted floor does on questions it was not fitted on.

The result is written to ``calibration.json`` beside the index; :class:`assistant.settings.Settings`
reads it, and an explicit ``ASSISTANT_*`` setting still wins.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CALIBRATION_FILE = "calibration.json"
FORMAT_VERSION = 1
#: the settings a calibration file may set, per question language
FLOOR_SETTINGS: dict[str, str] = {"zh": "min_relevance", "en": "min_relevance_crosslingual"}
#: a floor below every recorded cosine sits this far under the lowest one (half the typical
#: spread of right answers' cosines on the two eval corpora, so it still refuses off-topic noise)
EDGE_MARGIN = 0.02

Outcome = Literal["right", "wrong", "refused"]


class CalibrationError(ValueError):
    """A calibration file that cannot be used (unreadable, invalid, another format)."""


class CalibrationFile(BaseModel):
    """``calibration.json``: fitted settings and how they were obtained."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    #: the embedding model whose cosines the floors were fitted on; another model ignores them
    embedding_model: str
    values: dict[str, float]
    fitted_at: str
    eval_set: str
    generator: str
    max_false_refusals: float
    questions: int
    #: per-language fit details and before/after/cross-validated figures, for people to read
    report: dict[str, Any] = Field(default_factory=dict)


def read_calibration(index_dir: Path) -> CalibrationFile | None:
    """The calibration beside the index in ``index_dir``; ``None`` when there is none."""
    path = index_dir / CALIBRATION_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CalibrationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        cal = CalibrationFile.model_validate(json.loads(raw))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise CalibrationError(f"{path} is not a valid calibration file ({exc}); delete it or run `assistant calibrate` again") from exc
    if cal.format_version != FORMAT_VERSION:
        raise CalibrationError(f"{path} has format {cal.format_version}, expected {FORMAT_VERSION}; run `assistant calibrate` again")
    unknown = set(cal.values) - set(FLOOR_SETTINGS.values())
    if unknown:
        raise CalibrationError(f"{path} sets {sorted(unknown)}, which cannot be calibrated")
    return cal


def write_calibration(index_dir: Path, cal: CalibrationFile) -> Path:
    """Write ``calibration.json`` atomically (a reader sees the old file or the new one)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / CALIBRATION_FILE
    fd, tmp = tempfile.mkstemp(prefix=".calibration-", suffix=".json", dir=index_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(cal.model_dump_json(indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---- observations and their tallies --------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One eval question answered with the floor off."""

    qid: str
    language: str
    answerable: bool
    #: what the floor is compared with: the top dense cosine of the retrieved passages
    score: float
    #: the outcome with no floor: ``right`` (every key fact; unanswerable: never), ``wrong``, ``refused``
    outcome: Outcome

    def under(self, floor: float) -> Outcome:
        """The outcome with ``floor`` in force."""
        return "refused" if self.score < floor else self.outcome


@dataclass(frozen=True)
class Tally:
    """How a set of questions fares under one floor."""

    answerable: int = 0
    right: int = 0  # answerable, answered with every key fact
    false_refusals: int = 0
    unanswerable: int = 0
    rejected: int = 0  # unanswerable and refused

    @classmethod
    def of(cls, observations: Iterable[Observation], floor: float) -> Tally:
        """Tally ``observations`` under ``floor``."""
        a = r = fr = u = rej = 0
        for o in observations:
            outcome = o.under(floor)
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
        """The counts and the three rates, rounded for a report."""
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "answerable": self.answerable, "unanswerable": self.unanswerable, "correct": self.correct,
            "key_fact_accuracy": r(self.key_fact_accuracy), "negative_rejection": r(self.negative_rejection),
            "false_refusal_rate": r(self.false_refusal_rate),
        }


# ---- fitting one floor ---------------------------------------------------------------------


@dataclass(frozen=True)
class FloorFit:
    """The fitted floor, the gap between recorded cosines it sits in, and its tally."""

    floor: float
    low: float  # the highest recorded cosine refused by it (-inf: none)
    high: float  # the lowest recorded cosine let through (+inf: none)
    tally: Tally
    cap_met: bool
    note: str = ""


def _candidates(scores: Sequence[float]) -> list[tuple[float, float]]:
    """The gaps between consecutive distinct cosines, as (low, high), from below all to above all."""
    distinct = sorted(set(scores))
    bounds = [-math.inf, *distinct, math.inf]
    return list(zip(bounds[:-1], bounds[1:]))


def _place(low: float, high: float) -> float:
    if math.isinf(low) and math.isinf(high):
        return 0.0
    if math.isinf(low):
        return high - EDGE_MARGIN
    if math.isinf(high):
        return low + EDGE_MARGIN
    return (low + high) / 2


def fit_floor(observations: Sequence[Observation], max_false_refusals: float, current: float | None = None) -> FloorFit:
    """The floor that handles the most questions right with a false-refusal rate at most
    ``max_false_refusals`` (see the module docstring). When ``current`` (the floor in force)
    already does as well as any, it is kept: the sample gives no reason to move it.

    When no floor meets the cap (later steps already refuse too many answerable questions),
    the floors with the fewest false refusals are the candidates instead, and the fit says so.
    A floor in a gap refuses every cosine at or under ``low`` and lets ``high`` through.
    """
    gaps = _candidates([o.score for o in observations])
    # a floor in the gap (low, high) refuses exactly the cosines <= low, as ``high`` itself does
    tallies = [(gap, Tally.of(observations, gap[1])) for gap in gaps]
    rates = [t.false_refusal_rate or 0.0 for _, t in tallies]
    cap_met = min(rates) <= max_false_refusals
    limit = max_false_refusals if cap_met else min(rates)
    feasible = [(gap, t) for (gap, t), rate in zip(tallies, rates) if rate <= limit + 1e-12]
    best = max(t.correct for _, t in feasible)
    winners = [(gap, t) for gap, t in feasible if t.correct == best]
    note = "" if cap_met else f"no floor keeps false refusals under {max_false_refusals:.0%}; least possible: {limit:.0%}"
    for (low, high), tally in winners:
        if current is not None and low < current <= high:
            return FloorFit(current, low, high, tally, cap_met, note)
    # widest gap; on equal widths (both unbounded) the lower floor, which refuses less
    (low, high), tally = max(winners, key=lambda w: (w[0][1] - w[0][0], -w[0][1]))
    return FloorFit(_place(low, high), low, high, tally, cap_met, note)


# ---- cross-validation ----------------------------------------------------------------------


@dataclass
class CrossValidation:
    """Held-out tallies summed over folds, and the floors each fold fitted."""

    tally: Tally = field(default_factory=Tally)
    floors: list[float] = field(default_factory=list)


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


def cross_validate(observations: Sequence[Observation], max_false_refusals: float, current: float | None = None,
                   k: int = 5, seed: int = 0) -> CrossValidation:
    """Fit on all folds but one, tally the one left out, for each fold in turn."""
    cv = CrossValidation()
    parts = folds(observations, k, seed)
    for i, held_out in enumerate(parts):
        train = [o for j, part in enumerate(parts) if j != i for o in part]
        if not train:
            continue
        fit = fit_floor(train, max_false_refusals, current)
        cv.floors.append(round(fit.floor, 4))
        cv.tally = cv.tally + Tally.of(held_out, fit.floor)
    return cv
