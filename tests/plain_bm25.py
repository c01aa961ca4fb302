"""The reference retrieval is compared against: rank-bm25's `get_scores`, summed per
weighted term, and a stable sort of every document. Used by the identity tests and by
the retrieval benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def plain_scores(index: Any, weights: dict[str, float]) -> list[float]:
    """Every document's score by rank-bm25's `get_scores`, terms summed in weight order."""
    bm25 = index.bm25
    totals = [0.0] * bm25.corpus_size
    for term, weight in weights.items():
        if term not in bm25.idf:
            continue
        for i, s in enumerate(bm25.get_scores([term])):
            if s:
                totals[i] += weight * float(s)
    return totals


def whole_corpus_order(scores: Sequence[float], n: int) -> list[int]:
    """How retrieval ordered documents before: a stable sort of every document's score."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])[:n]
