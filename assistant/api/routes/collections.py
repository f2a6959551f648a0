"""``/v1/collections``: the knowledge bases of this server, each with its own documents and index.

A key lists only the collections it sees; one it may not see answers 404 exactly as one that does
not exist. Only admin keys (``KEY:*``) create and delete; without keys everything is open.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_client, get_collections, get_settings
from assistant.api.schemas import COMMON_ERRORS, error_responses
from assistant.storage.collections import NAME_RULE, OVERRIDABLE, CollectionStore
from assistant.storage.documents import list_documents

PATH = "/v1/collections"


class CollectionFields(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "policies",
                                                                               "settings": {"k": 8}}]})
    name: str = Field(max_length=64, description=f"the new collection's name: {NAME_RULE}")
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description=f"settings of its own (any of: {', '.join(OVERRIDABLE)})")


class CollectionOut(BaseModel):
    name: str
    created_at: str
    settings: dict[str, Any]
    documents: int = Field(description="documents in its corpus")
    loaded: bool = Field(description="whether its index is in memory now")


def _describe(name: str, store: CollectionStore, loaded: list[str]) -> dict[str, Any]:
    record = store.record(name)
    documents = len(list_documents(store.settings_for(name)))
    return {"name": name, "created_at": record.created_at, "settings": record.settings, "documents": documents,
            "loaded": name in loaded}


def router() -> APIRouter:
    """The collection routes (behind the API key, when keys are set, like every ``/v1`` route)."""
    api = APIRouter(tags=["collections"])

    @api.get(PATH, summary="The collections this key sees", responses=error_responses(*COMMON_ERRORS))
    def list_collections(request: Request) -> dict[str, Any]:
        registry = get_collections(request)
        loaded = registry.open_names()
        return {"collections": [_describe(n, registry.store, loaded) for n in registry.names(get_client(request))]}

    @api.get(PATH + "/{name}", response_model=CollectionOut, summary="One collection",
             responses=error_responses(*COMMON_ERRORS, 404, 422))
    def get_collection(name: str, request: Request) -> dict[str, Any]:
        registry = get_collections(request)
        with registry.use(name, get_client(request)):
            return _describe(name, registry.store, registry.open_names())

    @api.post(PATH, status_code=201, response_model=CollectionOut, summary="Create an empty collection",
              responses=error_responses(*COMMON_ERRORS, 403, 409, 422))
    def create_collection(body: CollectionFields, request: Request) -> dict[str, Any]:
        """Admin keys only (**403**). **422** a name that breaks the rule or a setting it may not set;
        **409** a name that is taken. Add documents with `POST /v1/documents` and the form field `collection`."""
        registry = get_collections(request)
        registry.create(body.name, body.settings, get_client(request))
        return _describe(body.name, registry.store, registry.open_names())

    @api.delete(PATH + "/{name}", summary="Delete a collection, its documents and its index",
                responses=error_responses(*COMMON_ERRORS, 403, 404, 422, 429))
    async def delete_collection(name: str, request: Request) -> dict[str, Any]:
        """Admin keys only. New requests on it are refused at once; the ones running finish first (up to
        `ASSISTANT_REQUEST_TIMEOUT`, else **429**). `default` cannot be deleted (**403**)."""
        registry, client = get_collections(request), get_client(request)
        timeout = get_settings(request).request_timeout
        await run_in_threadpool(lambda: registry.delete(name, client, timeout))
        return {"deleted": name}

    return api
