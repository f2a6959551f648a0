"""LangChain adapter: a :class:`~assistant.retrieve.Retriever` as a ``BaseRetriever``.

Kept apart from ``retrieve.py`` so that searching does not import langchain_core.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.types import Hit


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
    """LangChain adapter over :class:`Retriever`; ``invoke(query)`` returns ``list[Document]``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # assistant.retrieve.Retriever (Any: pydantic need not validate it)
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.retriever.search(query, self.k)]
