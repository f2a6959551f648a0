"""The form of an LLM answer as a llama.cpp grammar (GBNF): the model cannot write an answer
without words or without a marker.

An answer is either a refusal, written exactly, or one to three sentences, each some words (at
least eight characters, no brackets) followed by a marker ``[n]`` of an evidence number. Measured
on the 1.5B: unconstrained, it answered "企业研发经费投入占全社会比重是多少？" with a bare "[4]"
(refused by the check); constrained, with "企业研发经费投入占全社会比重超77%。[4]".

Eight characters, not four, and no opening 《 or （: on the 104 eval questions the 1.5B answered
three questions with the evidence's section heading ("《（九）发展壮大新兴产业》[1]。", which the
prompt prints above the evidence), and unanswerable ones with a bare nearby figure ("140多家[1]。"),
which names no subject that the check could hold against the question. A sentence now has room
to say what its figure is about. It ends in a word, not a full stop, before its marker: "ranks 2nd
globally.[2]" left the marker outside the sentence it cites.
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
        "body ::= lead [^\\[\\]\\n]{6,298} last",
        "lead ::= [^\\[\\]\\n《（(]",
        "last ::= [^\\[\\]\\n。.!?！？]",
        f"marker ::= \"[\" ({numbers}) \"]\"",
        'end ::= "。" | ". " | "."',
    ]) + "\n"
