"""LangChain adapter: a :class:`~assistant.answer.retrieve.Retriever` behind LangChain's ``BaseRetriever``.

Kept apart from ``retrieve.py`` so that searching does not import langchain_core (~1 s).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.core.inputs import check_k, check_question
from assistant.core.types import Hit


def hit_to_document(hit: Hit) -> Document:
    """A LangChain Document for a hit; metadata carries the citation fields and scores."""
    p = hit.passage
    return Document(
        page_content=p.text,
        id=p.id,
        metadata={
            "passage_id": p.id,
            "section": p.section,
            "source": p.source,
            "kind": p.kind,
            "rank": hit.rank,
            "score": hit.score,
            "scores": dict(hit.scores),
        },
    )


class LangChainRetriever(BaseRetriever):
    """LangChain adapter; ``invoke(query)`` returns ``list[Document]`` (a bad query is an
    InvalidInputError, as everywhere else)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: Any  # anything with snapshot() -> Snapshot (Any: pydantic need not validate it)
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        settings = self.source.snapshot().settings
        query = check_question(query, settings.max_question_chars)
        return [hit_to_document(h) for h in self.source.snapshot().retriever.search(query, self.k)]


def as_langchain_retriever(source: Any, k: int | None = None) -> LangChainRetriever:
    """``source`` (a :class:`~assistant.answer.live.Snapshot` or :class:`~assistant.answer.live.LiveIndex`,
    which follows the live build) behind LangChain's ``BaseRetriever`` interface."""
    settings = source.snapshot().settings
    return LangChainRetriever(source=source, k=check_k(k, settings.k, settings.max_k))
