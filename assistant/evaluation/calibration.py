"""The judge's own check: its error rate on hand-labelled sentence/passage pairs.

Each line of ``evals/judge_labels.jsonl`` is ``{"id", "sentence", "cites": [phrase, ...],
"supported": bool, "note"}``. The cited passages are named by phrases (as gold passages are),
so the sample survives re-chunking; they are resolved against the current corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import InvalidInputError
from assistant.core.types import Passage
from assistant.evaluation.dataset import squash
from assistant.evaluation.judge import GroundingJudge, Verdict


@dataclass(frozen=True)
class LabelledPair:
    """One hand-labelled case: does the text of ``passages`` support ``sentence``?"""

    id: str
    sentence: str
    passages: tuple[str, ...]
    supported: bool
    note: str = ""


@dataclass(frozen=True)
class Calibration:
    """How often the judge disagrees with the hand labels."""

    total: int
    errors: list[tuple[LabelledPair, Verdict]]

    @property
    def error_rate(self) -> float:
        return len(self.errors) / self.total if self.total else 0.0

    def summary(self) -> str:
        return f"judge error rate {self.error_rate:.1%} ({len(self.errors)}/{self.total} hand-labelled pairs)"


def _resolve(phrase: str, passages: Sequence[Passage]) -> str:
    needle = squash(phrase)
    texts = [p.text for p in passages if needle in squash(p.text)]
    if len(texts) != 1:
        raise InvalidInputError(f"judge label phrase {phrase!r} names {len(texts)} passages, not one")
    return texts[0]


def load_labels(path: Path, passages: Sequence[Passage]) -> list[LabelledPair]:
    """Read the hand-labelled sample, resolving each cited phrase to its passage text."""
    pairs = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            pairs.append(
                LabelledPair(
                    id=d["id"],
                    sentence=d["sentence"],
                    passages=tuple(_resolve(c, passages) for c in d["cites"]),
                    supported=bool(d["supported"]),
                    note=d.get("note", ""),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path}:{lineno}: bad judge label: {exc}") from exc
    return pairs


def calibrate(judge: GroundingJudge, pairs: Sequence[LabelledPair]) -> Calibration:
    """Run the judge on every labelled pair and collect its disagreements."""
    errors = []
    for pair in pairs:
        verdict = judge.verdict(pair.sentence, list(pair.passages))
        if verdict.supported != pair.supported:
            errors.append((pair, verdict))
    return Calibration(total=len(pairs), errors=errors)
