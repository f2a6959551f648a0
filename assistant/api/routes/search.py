"""``POST /v1/search``: the passages retrieval returns, without generating an answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_settings, get_workers, use_collection
from assistant.api.schemas import COMMON_ERRORS, Schemas, SearchFields, SearchResponse, bind, error_responses


def router(schemas: Schemas) -> APIRouter:
    """The search route, validating bodies with this app's bounded ``SearchRequest``."""
    api = APIRouter(tags=["answers"])

    async def search(body: SearchFields, request: Request) -> JSONResponse:
        """Hybrid (dense + BM25) retrieval, best first; the same JSON as `assistant search --json`."""
        with use_collection(request, body.collection) as use:
            assistant = await run_in_threadpool(lambda: use.assistant)  # opening it may load its index
            k = body.k or assistant.settings.k or get_settings(request).k
            job = get_workers(request).job()  # the quick pool: a search never waits behind a model
            try:
                hits = await job.run(lambda: assistant.search(body.query, k))
            finally:
                job.close()
        return JSONResponse({"query": body.query, "results": [h.to_source().model_dump() for h in hits]})

    api.post("/v1/search", response_model=SearchResponse, summary="Retrieve report passages",
             responses=error_responses(*COMMON_ERRORS, 404, 409, 413, 422, 503))(bind(search, body=schemas.search))
    return api
