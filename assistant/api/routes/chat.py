"""``POST /v1/chat/completions``: OpenAI-compatible, so the official clients work unchanged."""

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
from assistant.api import openai_compat, streaming
from assistant.api.deps import get_client, get_question_log, get_settings, use_collection
from assistant.api.openai_compat import Completion
from assistant.api.schemas import ANSWER_ERRORS, ChatFields, Schemas, bind, error_responses
from assistant.core.types import AnswerEvent, Event

DESCRIPTION = (
    "The last user message is the question, earlier user/assistant messages the history (a follow-up "
    "is rewritten with it before retrieval). `model`: `report-assistant` (server default), "
    "`report-assistant/NAME` (the collection NAME, with the server's generator) or a generator name (see "
    "`GET /v1/models`). Sampling options (`max_tokens`, `temperature`, ...) are "
    "accepted and ignored. The response carries extra fields `citations`, `refused`, `generator` and "
    "`answer_id` (for `POST /v1/feedback`), and `usage` (the tokens the generator read and wrote: the "
    "local model's own counts, the upstream's for `openai`, the local tokenizer's or an estimate for "
    "`extractive`); when streaming, the content is the *checked* answer streamed in pieces once checking "
    "is done, the extra fields arrive in the chunk with `finish_reason: \"stop\"`, and with "
    "`stream_options: {\"include_usage\": true}` a last chunk with no choices carries `usage`, "
    "before `data: [DONE]`."
)


SSE_EXAMPLE = (
    'data: {"id": "chatcmpl-…", "object": "chat.completion.chunk", "choices": [{"index": 0, '
    '"delta": {"role": "assistant", "content": ""}, "finish_reason": null}], ...}\n\n'
    'data: {..., "choices": [{"index": 0, "delta": {"content": "……1557家[1]。"}, "finish_reason": null}]}\n\n'
    'data: {..., "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "citations": [...], '
    '"refused": false}\n\ndata: [DONE]\n\n'
)


def _data(payload: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(json.dumps(payload, ensure_ascii=False))


async def _chunks(completion: Completion, first: Event, rest: AsyncIterator[Event],
                  done: Callable[[], None]) -> AsyncIterator[ServerSentEvent]:
    try:
        async for chunk in _chunks_of(completion, first, rest):
            yield chunk
    finally:
        done()  # the collection may be deleted once its answers are done


async def _chunks_of(completion: Completion, first: Event,
                     rest: AsyncIterator[Event]) -> AsyncIterator[ServerSentEvent]:
    # the role first: clients see the reply begin while the answer is generated and checked
    yield _data(completion.chunk({"role": "assistant", "content": ""}))
    try:
        async for event in streaming.chain(first, rest):
            if not isinstance(event, AnswerEvent):
                continue  # draft tokens are not sent: clients would keep text the check removes
            for piece in openai_compat.pieces(event.answer.answer):
                yield _data(completion.chunk({"content": piece}))
            yield _data(completion.chunk({}, "stop", **openai_compat.extras(event.answer)))
            if completion.include_usage:
                yield _data(completion.usage_chunk(event.answer))
    except Exception as exc:
        # the openai client raises APIError for a data line carrying "error"
        yield _data(streaming.failure_body(exc))
    yield ServerSentEvent("[DONE]")


def router(schemas: Schemas) -> APIRouter:
    """The chat-completions route, validating bodies with this app's ``ChatCompletionRequest``."""
    api = APIRouter(tags=["openai-compatible"])

    async def chat_completions(body: ChatFields, request: Request) -> Any:
        settings = get_settings(request)
        question, history = openai_compat.split_messages(body.messages, settings)
        collection, generator = openai_compat.collection_and_generator(body.model)
        question_log, client = get_question_log(request), get_client(request)
        use = use_collection(request, collection)
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        completion = Completion(model=body.model, include_usage=body.stream and include_usage)

        def start(assistant: Assistant, cancel: Cancellation) -> Iterator[Event]:
            events = assistant.stream(question, generator=generator, k=body.k, history=history or None, cancel=cancel)
            return question_log.recorded(events, channel="openai", client=client, collection=use.name,
                                         index_build=assistant.index_build)

        try:  # opening a collection may load its index: not on the event loop
            assistant = await run_in_threadpool(lambda: use.assistant)
        except BaseException:
            use.release()
            raise
        if not body.stream:
            with use:
                answer = await streaming.answer(request, assistant, generator, start)
            return JSONResponse(completion.message(answer))
        try:
            first, rest = await streaming.start(request, assistant, generator, start)
        except BaseException:
            use.release()
            raise
        chunks = _chunks(completion, first, rest, use.release)
        use.hold_while(chunks)
        return EventSourceResponse(chunks, ping=15)

    streamed = {"content": {"application/json": {}, "text/event-stream": {"example": SSE_EXAMPLE}}}
    api.post("/v1/chat/completions", summary="OpenAI-compatible chat completion", description=DESCRIPTION,
             responses={200: streamed, **error_responses(*ANSWER_ERRORS, 404, 409)}
             )(bind(chat_completions, body=schemas.chat))
    return api
