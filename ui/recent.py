"""The chat's "recent questions" view: logged answers with their ratings, as one HTML table,
filterable to refused and down-rated answers.

All logged text (questions, answers, comments, corrections) is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import gradio as gr

from assistant.core.errors import AssistantError
from assistant.core.redact import public_message
from assistant.questionlog import LogEntry, QuestionLog

TITLE = "最近的问题 · Recent questions"
#: filter label -> (its name in the page, refused only, down-rated only)
FILTERS: dict[str, tuple[str, bool, bool]] = {
    "全部 · All": ("all", False, False),
    "未回答 · Refused": ("refused", True, False),
    "差评 · Rated down": ("down", False, True),
}
EMPTY = "还没有记录的问题 · No logged questions yet"
OFF = "问题日志已关闭 · The question log is off (ASSISTANT_LOG_ENABLED=false)"
KEYS_ONLY = "仅限 API 密钥持有者 · Only API key holders may see the log"
# words, not thumbs emoji: a machine without an emoji font would show empty boxes
_RATINGS = {"up": ("好评 · up", "ra-up"), "down": ("差评 · down", "ra-down")}
_CUT = 120
#: rows the view shows
LIMIT = 50


def _short(text: str | None, hidden: str = "—") -> str:
    if text is None:
        return f'<span class="ra-hidden">{hidden}</span>'
    flat = " ".join(text.split())
    return escape(flat if len(flat) <= _CUT else flat[:_CUT] + "…")


def row(e: LogEntry) -> str:
    """One answer: time, question, outcome, rating with the latest comment and correction."""
    icon, css = _RATINGS.get(e.rating or "", ("", ""))
    latest = e.feedback[-1] if e.feedback else None
    notes = ""
    if latest and latest.comment:
        notes += f'<div class="ra-log-comment">{_short(latest.comment)}</div>'
    if e.correction:
        notes += f'<div class="ra-log-correction">更正 · Correction: {_short(e.correction)}</div>'
    outcome = '<span class="ra-log-refused">未回答 · refused</span>' if e.refused else _short(e.answer)
    return (
        f'<tr class="ra-log-row" data-answer-id="{escape(e.answer_id)}">'
        f'<td class="ra-log-time">{escape(e.created_at[:16].replace("T", " "))}</td>'
        f'<td class="ra-log-question">{_short(e.question, "(未记录文本 · text not logged)")}</td>'
        f'<td class="ra-log-answer">{outcome}</td>'
        f'<td class="ra-log-rating"><span class="{css}">{icon}</span>{notes}</td></tr>'
    )


def table(entries: list[LogEntry], shown: str = "all") -> str:
    """The view's HTML: a table of ``entries`` (newest first), or a line saying there are none;
    ``shown`` names the filter (``data-filter``, so a page or a test can tell which list it sees)."""
    if not entries:
        return notice(EMPTY, shown)
    head = "<tr><th>时间 (UTC) · Time</th><th>问题 · Question</th><th>回答 · Answer</th><th>评价 · Rating</th></tr>"
    rows = "".join(row(e) for e in entries)
    return f'<div class="ra-log-view" data-filter="{shown}"><table class="ra-log">{head}{rows}</table></div>'


def notice(text: str, shown: str = "all") -> str:
    return f'<div class="ra-log-view" data-filter="{shown}"><div class="ra-log-empty">{escape(text)}</div></div>'


def add_recent_view(get_log: Callable[[], QuestionLog | None], may_see: Callable[[gr.Request], bool],
                    collection: gr.Dropdown) -> gr.HTML:
    """The view (call inside the page's ``gr.Blocks``): closed at first, filled when opened, on each
    filter change and on "refresh", with the questions of the collection selected in ``collection``.
    ``may_see`` decides per request (with API keys: key holders only)."""
    with gr.Accordion(TITLE, open=False, elem_id="ra-recent") as box:
        with gr.Row(equal_height=True):
            which = gr.Radio(list(FILTERS), value=next(iter(FILTERS)), show_label=False, scale=4,
                             elem_id="ra-recent-filter")
            refresh = gr.Button("刷新 · Refresh", scale=1, elem_id="ra-recent-refresh")
        view = gr.HTML(notice(EMPTY, "none"), elem_id="ra-recent-table")

    def show(choice: str, name: str, request: gr.Request) -> str:
        shown, refused, down = FILTERS.get(choice, ("all", False, False))
        if not may_see(request):
            return notice(KEYS_ONLY, shown)
        question_log = get_log()
        if question_log is None or not question_log.enabled:
            return notice(OFF, shown)
        try:
            entries = question_log.store.entries(refused=refused, down=down, limit=LIMIT, collection=name or "default")
            return table(entries, shown)
        except AssistantError as exc:
            return notice(public_message(exc), shown)

    for event in (box.expand, which.change, refresh.click, collection.change):
        event(show, inputs=[which, collection], outputs=[view])
    return view
