"""``GET /v1/models``, ``GET /v1/passages/{id}`` and ``GET /healthz``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from assistant import __version__
from assistant.api.deps import get_assistant, get_client, get_collections, use_collection
from assistant.api.openai_compat import DEFAULT_MODEL, collection_model
from assistant.api.schemas import COMMON_ERRORS, CollectionParam, Health, PassageOut, error_responses


def router() -> APIRouter:
    """The ``/v1`` metadata routes (behind the API key, when keys are set)."""
    api = APIRouter(tags=["metadata"])

    @api.get("/v1/models", summary="Generators, as an OpenAI model list", responses=error_responses(*COMMON_ERRORS))
    async def list_models(request: Request) -> dict[str, Any]:
        """`report-assistant` is the server's default generator; then the generators this server allows
        (ASSISTANT_ALLOWED_GENERATORS), the default one first; then `report-assistant/NAME` for each
        collection the key sees (the collection NAME with the server's generator)."""
        collections = get_collections(request).names(get_client(request))
        names = [DEFAULT_MODEL, *get_assistant(request).generators.names(), *map(collection_model, collections)]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "report-assistant"} for n in names]
        return {"object": "list", "data": data}

    @api.get("/v1/passages/{passage_id}", response_model=PassageOut, summary="One report passage by id",
             responses=error_responses(*COMMON_ERRORS, 404, 409, 422, 503))
    def get_passage(passage_id: str, request: Request, collection: CollectionParam = None) -> dict[str, Any]:
        """Ids contain `#`: URL-encode them (`#` -> `%23`), or the `#` part never reaches the server."""
        with use_collection(request, collection) as use:
            assistant = use.assistant
            passage = assistant.passage(passage_id)
        if passage is None:
            raise HTTPException(404, f"no passage with id {passage_id!r}")
        return passage.to_dict()

    return api


def health_router() -> APIRouter:
    """``/healthz``: open without a key, so load balancers and scripts can probe it."""
    api = APIRouter(tags=["metadata"])

    @api.get("/healthz", response_model=Health, summary="Liveness, readiness and what the server runs",
             responses=error_responses(400))
    async def healthz(request: Request) -> dict[str, Any]:
        """`status`: `loading` while the default generator loads, `ready` once it answers, `failed`
        if it could not load (other generators and search still work). Reads state only: it
        answers at once whatever the models are doing."""
        assistant = get_assistant(request)
        info = assistant.info()
        return {
            "status": assistant.generators.status(),
            "index_size": info.index_size,
            "embedding_model": info.embedding_model,
            "generator": info.default_generator,
            "generator_model": info.generator_model,
            "generators": info.generators,
            "queues": assistant.generators.queues(),
            "version": __version__,
        }

    return api
