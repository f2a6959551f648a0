"""The answer grammar compiles in llama.cpp and admits exactly answers with words and markers."""

from __future__ import annotations

import re

import pytest

from assistant.answer.grammar import answer_grammar
from assistant.answer.refusal import REFUSALS


def test_grammar_compiles_in_llama_cpp() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    llama_cpp.LlamaGrammar.from_string(answer_grammar(REFUSALS.values(), 5), verbose=False)


def _admits(grammar: str, text: str) -> bool:
    """A regex reading of this small grammar (its rules are regular)."""
    rules = dict(line.split(" ::= ", 1) for line in grammar.strip().splitlines())
    numbers = "|".join(re.findall(r'"(\d+)"', rules["marker"]))
    sentence = rf"[^\[\]\n]{{4,300}}\[(?:{numbers})\](?:。|\. |\.)"
    refusals = "|".join(re.escape(r) for r in REFUSALS.values())
    return re.fullmatch(rf"(?:{refusals})|(?:{sentence}){{1,3}}", text) is not None


def test_grammar_shape() -> None:
    g = answer_grammar(REFUSALS.values(), 5)
    assert _admits(g, "制造业单项冠军企业1557家[2]。") and _admits(g, "报告中没有提到这一点。")
    assert not _admits(g, "[4]") and not _admits(g, "1557家[7]。")  # no words; no evidence 7
    two = answer_grammar(REFUSALS.values(), 6, min_sentences=2)
    assert "root ::= refusal | sentence sentence sentence?" in two
