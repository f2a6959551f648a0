"""``POST /v1/feedback``: a thumbs up or down on an answer, with an optional comment and corrected answer."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_client, get_collections, get_question_log
from assistant.api.schemas import COMMON_ERRORS, error_responses
from assistant.questionlog.question_log import MAX_COMMENT_CHARS, MAX_CORRECTION_CHARS


class FeedbackFields(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"answer_id": "3f2a9c1e0b6d4f7a8e5c2b1d0a9f8e7d", "rating": "down", "comment": "数字不对",
             "correction": "制造业单项冠军企业1557家"},
        ]},
    )
    answer_id: str = Field(min_length=1, max_length=64, description="the answer_id an answer came with")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS, description="what was wrong or right")
    correction: str | None = Field(
        None, max_length=MAX_CORRECTION_CHARS, description="the right answer; its figures become eval key facts"
    )


class FeedbackOut(BaseModel):
    answer_id: str
    rating: Literal["up", "down"]
    comment: str | None
    correction: str | None
    created_at: str


def router() -> APIRouter:
    """The feedback route (behind the API key, when keys are set)."""
    api = APIRouter(tags=["feedback"])

    @api.post("/v1/feedback", status_code=201, response_model=FeedbackOut, summary="Rate an answer",
              responses=error_responses(*COMMON_ERRORS, 404, 413, 422, 503))
    async def feedback(body: FeedbackFields, request: Request) -> FeedbackOut:
        """The newest rating of an answer counts. 404 for an `answer_id` the log does not hold (or has
        pruned), or of a collection the key does not see; 503 when the question log is off. With
        `ASSISTANT_LOG_TEXTS=false` the comment and correction are not kept."""
        question_log, client = get_question_log(request), get_client(request)
        collections = get_collections(request)
        entry = await run_in_threadpool(
            lambda: question_log.feedback(body.answer_id, body.rating, comment=body.comment,
                                          correction=body.correction, client=client,
                                          sees=lambda name: collections.sees(name, client))
        )
        return FeedbackOut(**entry.model_dump(exclude={"client"}))

    return api
