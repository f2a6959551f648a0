"""Rating answers in the chat: the chatbot's thumbs up/down, then (after a thumbs down) an optional
comment and corrected answer. Ratings go to the question log under the answer's ``answer_id``.

``ids`` is a ``gr.State`` list parallel to the chat's messages: the ``answer_id`` of each checked
answer, None for every other message (questions, drafts, errors).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant.core.errors import AssistantError
from assistant.core.redact import public_message
from assistant.questionlog import QuestionLog
from assistant.questionlog.question_log import MAX_COMMENT_CHARS, MAX_CORRECTION_CHARS

log = logging.getLogger(__name__)

UP = "好评已记录，谢谢 · Thanks, noted"
DOWN = "差评已记录；可以说明哪里不对，或给出正确答案 · Noted; say what was wrong, or give the right answer"
SAVED = "已保存，谢谢 · Saved, thank you"
NOT_RATABLE = "这条消息不能评价 · Only checked answers can be rated"
LOG_OFF = "问题日志已关闭，评价不会保存 · The question log is off; ratings are not kept"

ClientOf = Callable[[gr.Request], str | None]


def _note(text: str) -> str:
    return f'<div class="ra-feedback-note">{text}</div>'


def _rating(liked: bool | str) -> str | None:
    # gradio reports the default buttons as True/False and named options by their label
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return None


def add_feedback(chatbot: gr.Chatbot, ids: gr.State, get_log: Callable[[], QuestionLog | None],
                 client_of: ClientOf) -> gr.HTML:
    """The feedback form under ``chatbot`` and its events (call inside the page's ``gr.Blocks``);
    returns the note that confirms each rating, for callers that chain on it."""
    target = gr.State(None)  # the answer the open form is about
    note = gr.HTML("", elem_id="ra-feedback-note")
    with gr.Group(visible=False, elem_id="ra-feedback") as form:
        comment = gr.Textbox(label="哪里不对？（可选）· What was wrong? (optional)", max_length=MAX_COMMENT_CHARS,
                             lines=1, elem_id="ra-feedback-comment")
        correction = gr.Textbox(label="正确答案（可选）· The right answer (optional)", max_length=MAX_CORRECTION_CHARS,
                                lines=2, elem_id="ra-feedback-correction")
        with gr.Row():
            send = gr.Button("提交 · Send", variant="primary", elem_id="ra-feedback-send")
            close = gr.Button("关闭 · Close", elem_id="ra-feedback-close")

    def save(answer_id: str, rating: str, request: gr.Request, comment: str | None = None,
             correction: str | None = None) -> str | None:
        """Record a rating; None when saved, else the message to show."""
        question_log = get_log()
        if question_log is None or not question_log.enabled:
            return LOG_OFF
        try:
            # only this session (with keys: this key) got the answer, and only it may rate it
            question_log.feedback(answer_id, rating, client=client_of(request), session=request.session_hash,
                                  comment=comment, correction=correction)
        except AssistantError as exc:
            return html.escape(public_message(exc))
        except Exception:  # the chat must keep working; the details go to the server log
            log.exception("saving feedback on %s failed", answer_id)
            return "出错了 · Something went wrong"
        return None

    def on_like(data: gr.LikeData, answer_ids: list[str | None], request: gr.Request) -> tuple[Any, ...]:
        index = data.index if isinstance(data.index, int) else data.index[0]
        answer_id = answer_ids[index] if 0 <= index < len(answer_ids) else None
        rating = _rating(data.liked)
        if answer_id is None or rating is None:
            return _note(NOT_RATABLE), gr.Group(visible=False), None
        problem = save(answer_id, rating, request)
        if problem:
            return _note(problem), gr.Group(visible=False), None
        if rating == "up":
            return _note(UP), gr.Group(visible=False), None
        return _note(DOWN), gr.Group(visible=True), answer_id

    def on_send(answer_id: str | None, said: str, right: str, request: gr.Request) -> tuple[Any, ...]:
        if answer_id is None:
            return _note(NOT_RATABLE), gr.Group(visible=False), said, right
        # a second thumbs-down row, now with the texts: the newest feedback is the answer's rating
        problem = save(answer_id, "down", request, comment=said, correction=right)
        if problem:
            return _note(problem), gr.Group(visible=True), said, right
        return _note(SAVED), gr.Group(visible=False), "", ""

    chatbot.like(on_like, inputs=[ids], outputs=[note, form, target])
    send.click(on_send, inputs=[target, comment, correction], outputs=[note, form, comment, correction])
    close.click(lambda: gr.Group(visible=False), outputs=[form])
    return note
