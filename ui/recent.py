"""The chat's "recent questions" view: logged answers with their ratings, as one HTML table.

All logged text (questions, answers, comments, corrections) is escaped here.
"""

from __future__ import annotations

from html import escape

from assistant.questionlog import LogEntry

TITLE = "最近的问题 · Recent questions"
#: filter label -> (refused only, down-rated only)
FILTERS: dict[str, tuple[bool, bool]] = {
    "全部 · All": (False, False),
    "未回答 · Refused": (True, False),
    "差评 · Rated down": (False, True),
}
EMPTY = "还没有记录的问题 · No logged questions yet"
OFF = "问题日志已关闭 · The question log is off (ASSISTANT_LOG_ENABLED=false)"
KEYS_ONLY = "仅限 API 密钥持有者 · Only API key holders may see the log"
_RATINGS = {"up": ("👍", "ra-up"), "down": ("👎", "ra-down")}
_CUT = 120


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
        f'<td class="ra-log-rating {css}">{icon}{notes}</td></tr>'
    )


def table(entries: list[LogEntry]) -> str:
    """The view's HTML: a table of ``entries`` (newest first), or a line saying there are none."""
    if not entries:
        return f'<div class="ra-log-empty">{EMPTY}</div>'
    head = "<tr><th>时间 (UTC) · Time</th><th>问题 · Question</th><th>回答 · Answer</th><th>评价 · Rating</th></tr>"
    return f'<table class="ra-log">{head}{"".join(row(e) for e in entries)}</table>'


def notice(text: str) -> str:
    return f'<div class="ra-log-empty">{escape(text)}</div>'
