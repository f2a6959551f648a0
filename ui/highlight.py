"""Which sentences of a cited passage to highlight: the evidence sentences the answer cited
(``Citation.evidence``), else those that best support the answer's claims.

``Answer.support`` says which answer sentences a citation supports; without evidence sentences
each of them is matched to the passage sentence sharing the most figures and character bigrams.
"""

from __future__ import annotations

from assistant.text.markers import cites, strip_markers
from assistant.text.numbers import numbers
from assistant.text.sentences import split_lossless, split_sentences
from assistant.text.words import bigrams

#: below this share of a claim's bigrams found in a sentence, the sentence is not highlighted
MIN_OVERLAP = 0.3


def split_passage(text: str) -> list[str]:
    """The passage's sentences; ``"".join(split_passage(t)) == t``."""
    return split_lossless(text)


def _score(claim: str, sentence: str) -> float:
    claim_bigrams = bigrams(claim)
    if not claim_bigrams:
        return 0.0
    overlap = len(claim_bigrams & bigrams(sentence)) / len(claim_bigrams)
    # a shared figure is the strongest sign of support (it is also what the citation check demands)
    shared = numbers(claim) & numbers(sentence)
    return overlap + (0.5 if shared else 0.0)


def evidence_sentences(passage: list[str], evidence: list[str]) -> set[int]:
    """Indexes of ``passage`` sentences that are (whitespace aside) the given evidence sentences."""
    wanted = {"".join(e.split()) for e in evidence}
    return {i for i, s in enumerate(passage) if "".join(s.split()) in wanted}


def supporting(passage: list[str], claims: list[str]) -> set[int]:
    """Indexes of ``passage`` sentences that best support each claim (at most one per claim)."""
    picked: set[int] = set()
    for claim in claims:
        scores = [_score(strip_markers(claim), s) for s in passage]
        if scores and max(scores) >= MIN_OVERLAP:
            picked.add(scores.index(max(scores)))
    return picked


def claims_for(marker: int, answer: str, sentences: list[str]) -> list[str]:
    """The answer sentences a citation supports: ``sentences`` if the pipeline gave them, else
    the answer's sentences carrying the marker ``[marker]``."""
    if sentences:
        return sentences
    return [s for s in split_sentences(answer) if cites(s, marker)]
