"""Text made safe to print on a terminal or to export: no escape sequences, no control characters.

Questions, comments, corrections and documents come from strangers. Printed raw, ``ESC [ 2 J``
clears the screen, ``ESC ] 0 ; … BEL`` retitles the window, a carriage return overwrites what a
line said, and a bidi override reverses it; read as text, the digits inside a sequence
(``ESC [ 31 m``) look like figures. :func:`printable` drops whole sequences first (so their
parameters go with them), then every other control character but the line break and the tab.
"""

from __future__ import annotations

import re

#: ECMA-48 sequences, 7-bit and 8-bit: CSI (ESC [ … final), OSC/DCS/SOS/PM/APC strings up to BEL or
#: ST, and the two- and three-character ESC sequences (ESC c, ESC ( B …); a lone ESC too
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
#: C0 and C1 controls but TAB and LF; DEL; bidi embeddings, overrides and isolates
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (line breaks and tabs kept)."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


class PrintableWriter:
    """A text stream that writes :func:`printable` text to the stream it wraps (the CLI's stdout)."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))  # type: ignore[attr-defined]
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
