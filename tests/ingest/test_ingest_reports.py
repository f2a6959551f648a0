"""The real PDF reports of evals/reports/corpus: every table cell of evals/reports/tables.jsonl (the
cells of seven tables as a person reads them off the page renders) stands in a passage under its
table's caption, on a line with its row label (and the group the row is indented under, where the
file names one), right after its column's name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from assistant.core.types import Passage
from assistant.ingest import ingest_file
from tests.support import make_settings

REPORTS = Path(__file__).resolve().parents[2] / "evals" / "reports"
CELLS = REPORTS / "tables.jsonl"
#: the numbered tables each bulletin prints (表1 … 表N)
TABLES = {"2023_zhoukou-city_statistical-bulletin.pdf": 6, "2023_qiandongnan-prefecture_statistical-bulletin.pdf": 16}

pytestmark = pytest.mark.skipif(not CELLS.is_file(), reason="evals/reports is not in this checkout")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("−", "-")


@pytest.fixture(scope="module")
def cells() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CELLS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def passages() -> dict[str, list[Passage]]:
    max_chars = make_settings().chunk_max_chars
    return {name: ingest_file(REPORTS / "corpus" / name, max_chars=max_chars).passages for name in TABLES}


def test_every_table_cell_stands_with_its_row_and_its_column(
    cells: list[dict[str, Any]], passages: dict[str, list[Passage]]
) -> None:
    missing = []
    for cell in cells:
        row, value = _squash(cell["row"]), _squash(cell["value"])
        named = _squash(cell["column"]) + value
        parent = _squash(cell.get("row_parent", "")).rstrip("：:")
        found = any(
            _squash(cell["table"]) in _squash(p.section)
            and any(row in line and named in line and parent in line for line in map(_squash, p.text.split("\n")))
            for p in passages[cell["document"]]
        )
        if not found:
            missing.append((cell["table"], cell.get("row_parent"), cell["row"], cell["column"], cell["value"]))
    assert not missing, f"{len(missing)} of {len(cells)} cells: {missing[:10]}"


def test_each_numbered_table_is_found_once(passages: dict[str, list[Passage]]) -> None:
    for name, count in TABLES.items():
        captions = {p.section.rsplit(" › ", 1)[-1] for p in passages[name] if p.kind == "table"}
        assert len(captions) == count and all(re.match(r"表\d+ ", c) for c in captions), captions
