"""The form of an LLM answer as a llama.cpp grammar (GBNF): the model cannot write an answer
without words or without a marker.

An answer is either a refusal, written exactly, or one to three sentences, each some words (at
least four characters, no brackets) followed by a marker ``[n]`` of an evidence number: a small
model left to itself answers with a bare "[4]", which the check can only refuse.
"""

from __future__ import annotations

from collections.abc import Iterable


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def answer_grammar(refusals: Iterable[str], evidence: int, *, min_sentences: int = 1, max_sentences: int = 3) -> str:
    """GBNF for an answer citing evidence ``1..evidence`` (or one of ``refusals``, verbatim) in
    ``min_sentences`` to ``max_sentences`` sentences (a two-part question needs two: the 1.5B
    otherwise stopped after the first part)."""
    numbers = " | ".join(_literal(str(n)) for n in range(1, max(evidence, 1) + 1))
    sentences = " ".join(["sentence"] * min_sentences + ["sentence?"] * max(0, max_sentences - min_sentences))
    return "\n".join([
        f"root ::= refusal | {sentences}",
        "refusal ::= " + " | ".join(_literal(r) for r in refusals),
        "sentence ::= body marker end",
        "body ::= [^\\[\\]\\n]{4,300}",
        f"marker ::= \"[\" ({numbers}) \"]\"",
        'end ::= "。" | ". " | "."',
    ]) + "\n"
