"""The question log: every answer the CLI, the API and the chat give, with its feedback, in SQLite.

``store`` (the database and its queries), ``migrations/`` (numbered SQL files), ``records`` (the
row models), ``writer`` (the background thread that keeps writes off the request path),
``question_log`` (what the edges use) and ``export`` (down-rated and refused answers as eval cases).
"""

from __future__ import annotations

from assistant.questionlog.question_log import QuestionLog
from assistant.questionlog.records import FeedbackEntry, LogEntry
from assistant.questionlog.store import LogStore

__all__ = ["FeedbackEntry", "LogEntry", "LogStore", "QuestionLog"]
