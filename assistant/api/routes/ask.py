"""``POST /v1/ask``: a checked, cited answer as JSON, or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from assistant.answer.generate.cancel import Cancellation
from assistant.answer.pipeline import Assistant
from assistant.api import streaming
from assistant.api.deps import get_client, get_question_log, use_collection
from assistant.api.schemas import ANSWER_ERRORS, AskFields, Schemas, bind, error_responses
from assistant.core.types import AnswerJSON, Event, SourcesEvent, TokenEvent
from assistant.questionlog import QuestionLog

SSE_DOC = (
    "With `\"stream\": true`: `event: sources` (`{\"query\", \"results\"}`), then `event: token` "
    "(`{\"text\"}`, draft pieces before checking), then `event: answer` (the checked answer, same JSON "
    "as without streaming); `event: error` (`{\"error\": {\"type\", \"message\"}}`) if answering fails."
)
SSE_EXAMPLE = (
    'event: sources\ndata: {"query": "...", "results": [...]}\n\n'
    'event: token\ndata: {"text": "2024年"}\n\n'
    'event: answer\ndata: {"question": "...", "answer": "...[1]", "refused": false, ...}\n\n'
)


def _data(payload: Any) -> str:
    # one JSON object per event keeps newlines inside answer text out of the SSE framing
    return json.dumps(payload, ensure_ascii=False)


def encode(event: Event) -> ServerSentEvent:
    """The SSE form of one pipeline event."""
    if isinstance(event, SourcesEvent):
        results = [h.to_source().model_dump() for h in event.hits]
        return ServerSentEvent(_data({"query": event.query, "results": results}), event="sources")
    if isinstance(event, TokenEvent):
        return ServerSentEvent(_data({"text": event.text}), event="token")
    return ServerSentEvent(_data(event.answer.to_json()), event="answer")


async def _events(first: Event, rest: AsyncIterator[Event], done: Callable[[], None]) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event in streaming.chain(first, rest):
            yield encode(event)
    except Exception as exc:  # the stream has started: report in-band, the status is already 200
        yield ServerSentEvent(_data(streaming.failure_body(exc)), event="error")
    finally:
        done()  # the collection may be deleted once its answers are done


def _starter(body: AskFields, question_log: QuestionLog, client: str | None, collection: str) -> streaming.Start:
    history = [turn.model_dump() for turn in body.history] or None

    def start(assistant: Assistant, cancel: Cancellation) -> Iterator[Event]:
        events = assistant.stream(body.question, generator=body.generator, k=body.k, history=history, cancel=cancel)
        return question_log.recorded(events, channel="api", client=client, collection=collection,
                                     index_build=assistant.index_build)

    return start


def router(schemas: Schemas) -> APIRouter:
    """The ask route, validating bodies with this app's bounded ``AskRequest``."""
    api = APIRouter(tags=["answers"])

    async def ask(body: AskFields, request: Request) -> Any:
        use = use_collection(request, body.collection)
        start = _starter(body, get_question_log(request), get_client(request), use.name)
        try:  # opening a collection may load its index: not on the event loop
            assistant = await run_in_threadpool(lambda: use.assistant)
        except BaseException:
            use.release()
            raise
        if not body.stream:
            with use:
                answer = await streaming.answer(request, assistant, body.generator, start)
            return JSONResponse(answer.to_json())
        try:
            first, rest = await streaming.start(request, assistant, body.generator, start)
        except BaseException:
            use.release()
            raise
        events = _events(first, rest, use.release)
        use.hold_while(events)
        return EventSourceResponse(events, ping=15)

    api.post(
        "/v1/ask",
        response_model=AnswerJSON,
        summary="Answer a question from the reports, with checked citations",
        description=SSE_DOC,
        responses={200: {"content": {"text/event-stream": {"example": SSE_EXAMPLE}}},
                   **error_responses(*ANSWER_ERRORS, 404, 409)},
    )(bind(ask, body=schemas.ask))
    return api
