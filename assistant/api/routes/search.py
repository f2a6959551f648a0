"""``POST /v1/search``: the passages retrieval returns, without generating an answer."""

# no ``from __future__ import annotations``: FastAPI must see the per-app request classes
# themselves, which live in this function's closure and cannot be found from a string
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistant.api.deps import get_assistant, get_settings
from assistant.api.schemas import Schemas, SearchResponse


def router(schemas: Schemas) -> APIRouter:
    """The search route, validating bodies with this app's bounded ``SearchRequest``."""
    api = APIRouter(tags=["answers"])
    SearchRequest = schemas.search

    @api.post("/v1/search", response_model=SearchResponse, summary="Retrieve report passages")
    def search(body: SearchRequest, request: Request) -> JSONResponse:  # type: ignore[valid-type]
        """Hybrid (dense + BM25) retrieval, best first; the same JSON as `assistant search --json`."""
        k = body.k or get_settings(request).k  # type: ignore[attr-defined]
        hits = get_assistant(request).search(body.query, k)  # type: ignore[attr-defined]
        return JSONResponse({"query": body.query, "results": [h.to_dict() for h in hits]})  # type: ignore[attr-defined]

    return api
