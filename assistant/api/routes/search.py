"""``POST /v1/search``: the passages retrieval returns, without generating an answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistant.api.deps import get_assistant, get_settings
from assistant.api.schemas import Schemas, SearchFields, SearchResponse, bind


def router(schemas: Schemas) -> APIRouter:
    """The search route, validating bodies with this app's bounded ``SearchRequest``."""
    api = APIRouter(tags=["answers"])

    def search(body: SearchFields, request: Request) -> JSONResponse:
        """Hybrid (dense + BM25) retrieval, best first; the same JSON as `assistant search --json`."""
        hits = get_assistant(request).search(body.query, body.k or get_settings(request).k)
        return JSONResponse({"query": body.query, "results": [h.to_source().model_dump() for h in hits]})

    api.post("/v1/search", response_model=SearchResponse, summary="Retrieve report passages")(
        bind(search, body=schemas.search)
    )
    return api
