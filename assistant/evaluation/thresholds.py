"""Thresholds the eval must meet, kept in a TOML file (``evals/thresholds.toml``).

Layout::

    [min]                        # metric >= value, every generator
    recall_at_5 = 0.8
    [max]                        # metric <= value
    false_refusal_rate = 0.2
    [generators.extractive.min]  # overrides / additions for one generator
    key_fact_accuracy = 0.6

A metric that does not apply to a run (``None``, e.g. no unanswerable questions in a subset)
is not checked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import InvalidInputError

_BOUNDS = ("min", "max")


@dataclass(frozen=True)
class Failure:
    """A metric of one generator that fell on the wrong side of its threshold."""

    generator: str
    metric: str
    value: float
    bound: str  # "min" or "max"
    threshold: float

    def __str__(self) -> str:
        op = "<" if self.bound == "min" else ">"
        return f"{self.generator}: {self.metric} = {self.value:.3f} {op} {self.bound} {self.threshold:g}"


def load_thresholds(path: Path) -> dict[str, Any]:
    """Parse and check a thresholds file; raises InvalidInputError with the reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read thresholds {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"thresholds {path} is not valid TOML: {exc}") from exc
    unknown = set(data) - {*_BOUNDS, "generators"}
    if unknown:
        raise InvalidInputError(
            f"thresholds {path}: unknown tables {sorted(unknown)}; use [min], [max], [generators.NAME.min|max]"
        )
    for gen, tables in data.get("generators", {}).items():
        if set(tables) - set(_BOUNDS):
            raise InvalidInputError(f"thresholds {path}: [generators.{gen}] may only hold min and max tables")
    return data


def limits_for(thresholds: Mapping[str, Any], generator: str) -> dict[str, dict[str, float]]:
    """The effective min/max tables for one generator (its own entries override the defaults).

    A run named ``local:qwen2.5-0.5b`` uses ``[generators."local:qwen2.5-0.5b"]`` when present,
    else ``[generators.local]``.
    """
    tables = thresholds.get("generators", {})
    own = tables.get(generator) or tables.get(generator.split(":", 1)[0], {})
    return {b: {**thresholds.get(b, {}), **own.get(b, {})} for b in _BOUNDS}


def check(metrics: Mapping[str, Any], thresholds: Mapping[str, Any], generator: str) -> list[Failure]:
    """Every threshold ``metrics`` (one run's aggregates) misses for ``generator``."""
    failures = []
    for bound, table in limits_for(thresholds, generator).items():
        for metric, limit in table.items():
            if metric not in metrics:
                raise InvalidInputError(
                    f"thresholds name an unknown metric {metric!r}; known: {', '.join(sorted(metrics))}"
                )
            value = metrics[metric]
            if value is None:
                continue
            if (bound == "min" and value < limit) or (bound == "max" and value > limit):
                failures.append(Failure(generator, metric, float(value), bound, float(limit)))
    return failures
