"""Any sentence-transformers model, by local folder path or by hub name (from the local cache).

Hub downloads are not attempted: this project must work with no network, and a hub call that
cannot connect only wastes time before failing. A model that is not on disk gives a
:class:`ModelLoadError` saying how to fetch it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import ModelLoadError
from assistant.embed import canonical_model_id, check_vectors

#: e5 models were trained with these prefixes; without them retrieval quality drops noticeably
E5_PREFIXES = ("query: ", "passage: ")


_E5_NAME = re.compile(r"(^|[^a-z0-9])e5([^a-z0-9]|$)")


def uses_e5_prefixes(model: str) -> bool:
    """Whether the model name or path says it is an e5 model (``intfloat/multilingual-e5-small``,
    ``/models/e5-small``); 'e5' must stand as its own word so e.g. ``gte5x`` does not count."""
    return bool(_E5_NAME.search(model.lower()))


class SentenceTransformersEmbedder:
    """:class:`~assistant.embed.Embedder` over ``sentence_transformers.SentenceTransformer``."""

    def __init__(self, model: str, batch_size: int = 16) -> None:
        path = Path(model).expanduser()
        is_path = path.exists()
        # a hub name is "owner/name"; anything else that is not on disk was meant as a path
        if not is_path and (model.startswith((".", "/", "~")) or model.count("/") > 1):
            raise ModelLoadError(f"embedding model folder {model!r} does not exist")
        # huggingface_hub reads this when first imported; local_files_only below covers the case
        # where something imported it earlier
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelLoadError(
                "sentence-transformers is not installed; install it with: "
                "pip install torch==2.13.0 sentence-transformers"
            ) from exc
        name = str(path.resolve()) if is_path else model
        try:
            self._model: Any = SentenceTransformer(name, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...: all mean "cannot load"
            hint = "" if is_path else (
                f"; it is not in the local cache (download it first, e.g. `hf download {model}`, or give a folder path)"
            )
            raise ModelLoadError(f"could not load sentence-transformers model {model!r}: {exc}{hint}") from exc
        self.model_id = canonical_model_id(f"sentence-transformers:{model}")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        # some models do not declare their dimension: ask them by embedding one text
        self.dim = int(dim) if dim is not None else int(self._model.encode(["dim"], convert_to_numpy=True).shape[1])
        self.batch_size = max(1, batch_size)
        self._query_prefix, self._passage_prefix = E5_PREFIXES if uses_e5_prefixes(name) else ("", "")

    def _embed(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return check_vectors(out, len(texts), self.dim, self.model_id)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (with ``passage: `` for e5 models)."""
        return self._embed(texts, self._passage_prefix)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries (with ``query: `` for e5 models)."""
        return self._embed(texts, self._query_prefix)
