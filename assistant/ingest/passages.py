"""What a passage says: its sentences, and whether it is mostly orders to a reader or a model.

Every later step reads a passage through these: the sentence vectors of an index build, the
evidence an answer rests on, the citation check, and ``assistant index --explain``.
"""

from __future__ import annotations

from assistant.core.types import Passage
from assistant.text.cjk import content_chars
from assistant.text.instructions import instruction_share
from assistant.text.sentences import split_sentences

#: fragments shorter than this (content characters) state nothing worth quoting
MIN_SENTENCE_CHARS = 4


def passage_sentences(passage: Passage) -> list[str]:
    """The sentences of a passage that can carry a fact, in order; a table's are its lines (a row
    written out with its label is one statement, whatever punctuation joins its cells)."""
    units = passage.text.splitlines() if passage.kind == "table" else split_sentences(passage.text)
    return [s.strip() for s in units if content_chars(s) >= MIN_SENTENCE_CHARS]


#: a passage whose text is at least this much instruction is hostile: none of it is evidence
MOSTLY_INSTRUCTION = 0.5


def mostly_instruction(passage: Passage) -> bool:
    """Whether ``passage`` is mostly orders to a reader or a model (:mod:`assistant.text.instructions`):
    flagged at ingestion, never evidence, never quoted."""
    return instruction_share(passage.text, passage_sentences(passage)) >= MOSTLY_INSTRUCTION
