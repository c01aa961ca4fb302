"""Scoring each term on its postings only, once per index, changes no result.

The reference is plain rank-bm25, as retrieval used it before: `get_scores` on the
whole corpus, one query term at a time, summed with the same weights, and a stable sort
of every document. It is compared with the postings-based scoring and ranking on every
calibration question, asked in its language and searched in every language's index,
and on random bags of index terms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import retrieval
from bot.core import Bot
from bot.normalize import LANGUAGES
from bot.retrieval import Result
from tests.plain_bm25 import plain_scores, whole_corpus_order

ROOT = Path(__file__).resolve().parent.parent
TOP = 10
TOLERANCE = 1e-9

Scores = Any  # a NumPy array of float64, one score per document


def assert_same(fast: Scores, reference: list[float], what: str) -> None:
    got = retrieval._best(fast, TOP)
    want = [i for i in whole_corpus_order(reference, TOP) if reference[i] > 0]
    assert got == want, what
    assert len(fast) == len(reference), what
    # Every document, not only the top: none the reference scores is missing or invented.
    assert all(math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE) for a, b in zip(fast, reference, strict=True)), what


Call = tuple[str, str, str]  # question, asked in, searched
Record = tuple[Call, dict[str, float], Scores, list[float], Result]


def questions() -> list[tuple[str, str]]:
    raw = yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8"))
    return [(str(r["q"]), str(r["lang"])) for r in raw]


def recording(sink: list[tuple[str, dict[str, float], Scores]]) -> Callable[..., Any]:
    scored = retrieval._weighted_scores

    def record(index: Any, weights: dict[str, float]) -> Scores:
        scores = scored(index, weights)
        sink.append((index.language, dict(weights), scores))
        return scores

    return record


@pytest.fixture(scope="module")
def records(bot: Bot) -> list[Record]:
    """Every calibration question searched in every index, with the weights retrieval
    scored, its scores, the reference scores and the result."""
    retriever = bot.retriever
    out: list[Record] = []
    with pytest.MonkeyPatch.context() as mp:
        seen: list[tuple[str, dict[str, float], Scores]] = []
        mp.setattr(retrieval, "_weighted_scores", recording(seen))
        for text, lang in questions():
            for searched in LANGUAGES:
                del seen[:]
                result = retriever.search_in(text, lang, searched)
                if not seen:  # nothing left of the question to search with
                    continue
                ((language, weights, fast),) = seen
                index = retriever._indexes[language]
                out.append(((text, lang, searched), weights, fast, plain_scores(index, weights), result))
    return out


def test_the_calibration_questions_cover_every_language(records: list[Record]) -> None:
    assert len(questions()) >= 200
    for lang in LANGUAGES:
        asked = {call[0] for call, *_ in records if call[1] == lang}
        searched = {call[0] for call, *_ in records if call[2] == lang}
        assert len(asked) >= 40 and len(searched) >= 160, lang


@pytest.mark.parametrize("searched", LANGUAGES)
def test_real_questions_rank_and_score_as_with_plain_rank_bm25(records: list[Record], searched: str) -> None:
    for call, _weights, fast, reference, _result in records:
        if call[2] == searched:
            assert_same(fast, reference, repr(call))


def test_real_questions_get_the_same_answers_as_when_every_document_is_scored(
    bot: Bot, records: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plain rank-bm25 on every document and a sort of them all is what retrieval did
    # before: the hits, their scores to the last bit, their coverage and the decision
    # must not move.
    plain = {(call, tuple(weights.items())): reference for call, weights, _, reference, _ in records}
    current: list[Call] = []

    def everything(index: Any, weights: dict[str, float]) -> Scores:
        return np.array(plain[current[0], tuple(weights.items())])

    monkeypatch.setattr(retrieval, "_weighted_scores", everything)
    monkeypatch.setattr(retrieval, "_best", whole_corpus_order)
    for call, _, _, _, fast_result in records:
        current[:] = [call]
        assert bot.retriever.search_in(*call) == fast_result, repr(call)


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(
        st.one_of(st.sampled_from([0.0, -0.0, -1.5, 0.25, 1.0, 3.5]), st.floats(-5.0, 20.0)), min_size=1, max_size=60
    ),
    n=st.integers(1, 12),
)
def test_the_best_documents_come_in_the_order_of_a_sort_of_the_whole_corpus(scores: list[float], n: int) -> None:
    # Ties, zeros and negative scores included; only positive scores are ever hits.
    assert retrieval._best(np.array(scores), n) == [i for i in whole_corpus_order(scores, n) if scores[i] > 0]


class Indexes:
    """The real indexes, by language; named shortly where Hypothesis reports a failure."""

    def __init__(self, bot: Bot) -> None:
        self.by_language = {lang: bot.retriever._indexes[lang] for lang in LANGUAGES}

    def __repr__(self) -> str:
        return "<the real knowledge base's indexes>"


@pytest.fixture(scope="module")
def indexes(bot: Bot) -> Indexes:
    return Indexes(bot)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_bags_of_terms_score_as_with_plain_rank_bm25(indexes: Indexes, data: st.DataObject) -> None:
    lang = data.draw(st.sampled_from(LANGUAGES))
    index = indexes.by_language[lang]
    # The index's own terms, bound names included, and one it has never seen.
    vocabulary = [*sorted(index.df), "\u2042never-seen"]
    weight = st.one_of(
        st.sampled_from([1.0, retrieval.EXPANSION_WEIGHT, retrieval.BOUND_HEAD_WEIGHT]),
        st.floats(min_value=1e-3, max_value=5.0, allow_nan=False, allow_infinity=False),
    )
    weights = data.draw(st.dictionaries(st.sampled_from(vocabulary), weight, max_size=40))
    assert_same(retrieval._weighted_scores(index, weights), plain_scores(index, weights), repr(weights))
