"""Progress of long work (reading documents, embedding them): a bar on a terminal, and a callback for
whoever else shows it (the chat's upload, ``assistant add``'s lines per document).

A :data:`Watch` is told ``(what, done, total)`` after each step: ``what`` names the stage
("embedding sentences"), ``done`` of ``total`` units are finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

#: told (stage, units done, units in all) after each step of a stage
Watch = Callable[[str, int, int], None]


@contextmanager
def steps(total: int, what: str, unit: str, *, bar: bool,
          watch: Watch | None = None) -> Iterator[Callable[[int], None]]:
    """A function to call with the units each step finished: it moves a tqdm bar on stderr (when
    ``bar`` and there is work) and tells ``watch``."""
    done = 0
    with tqdm(total=total, desc=what, unit=unit, disable=not bar or not total) as shown:

        def step(units: int) -> None:
            nonlocal done
            done += units
            shown.update(units)
            if watch is not None:
                watch(what, done, total)

        yield step
