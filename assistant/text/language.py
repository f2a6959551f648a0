"""Which language a question is in: Chinese (``zh``) or English (``en``).

The corpus is Chinese, so the assistant only distinguishes the two languages it answers in.
A question counts as Chinese when its CJK characters outweigh its Latin words; a Chinese word
averages about two characters, hence the factor, unless the question opens with an English
frame (two or more Latin words, the first one leading). Mixed questions such as
"What does the report say about 新质生产力?" are English (the framing decides the answer language).
"""

from __future__ import annotations

import re
from typing import Literal

from assistant.text import lexicon
from assistant.text.cjk import cjk_count

Language = Literal["zh", "en"]

_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")

#: English function and question words: a question opening with one is framed in English
_FRAME_WORDS = lexicon.words("stopwords", "en") | lexicon.words("question_words", "en")
#: CJK characters per Latin word that tip a mixed question to Chinese
_CHARS_PER_WORD = 2.0


def detect_language(text: str) -> Language:
    """``'zh'`` or ``'en'`` for ``text``; text with neither script counts as Chinese (the corpus language)."""
    cjk = cjk_count(text)
    words = len(_LATIN_WORD.findall(text))
    if words == 0:
        return "zh"
    # an English sentence frame ("What is 新质生产力?") decides even when Chinese terms dominate; a
    # name in Latin letters opening a Chinese sentence ("J Storm公司的社长是谁？") frames nothing
    first = _LATIN_WORD.match(text.lstrip())
    if first and words >= 2 and first.group(0).lower() in _FRAME_WORDS:
        return "en"
    return "zh" if cjk / _CHARS_PER_WORD > words else "en"


def script_language(text: str) -> Language:
    """The language a passage or sentence of a document is written in, by script alone (no
    question framing): Chinese when its CJK characters outweigh its Latin words."""
    return "zh" if cjk_count(text) / _CHARS_PER_WORD >= len(_LATIN_WORD.findall(text)) else "en"
