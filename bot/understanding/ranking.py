"""Which passages answer a question, by meaning and by words, and whether to answer at all.

Owns the fusion of the two rankers (the encoder's meaning scores from `semantic`, and
BM25 with stems and the glossary from `bot.retrieval`), the features the learned
decision reads, the decision itself (`knowledge/models/decision.json`, fitted by
`python -m bot kb train`), and the choice of what to cite: at most `MAX_CITED` passages,
facts before opinions.

May import: the standard library, NumPy, `bot.knowledge`, `bot.retrieval`, and
`bot.understanding`'s encoder, semantic and linear modules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.knowledge import Passage
from bot.retrieval import Hit, Result, Retriever, within
from bot.understanding.encoder import Matrix
from bot.understanding.linear import LinearModel
from bot.understanding.semantic import Meaning, SemanticIndex

# A passage among BM25's answers gains this much meaning score, by its rank there: the
# words the person typed are evidence the encoder can blur (names, numbers, acronyms).
WORD_BONUS = (0.03, 0.02, 0.01)
# A second passage is cited only when it is nearly as close in meaning as the first.
SECOND_WITHIN = 0.015
# An opinion leads only when no fact is this close to it in meaning.
FACT_WITHIN = 0.03
MAX_CITED = 3
_DIGIT = re.compile(r"\d")
FEATURES = (
    "meaning",
    "meaning_margin",
    "text",
    "words_answered",
    "words_agree",
    "words_coverage",
    "question_words",
    "figure_missing",
)
# Used until `kb train` has fitted the decision: answer only a clear match.
DEFAULT = LinearModel(
    classes=("answer",),
    features=FEATURES,
    weights=np.array([[40.0, 20.0, 0, 2.0, 2.0, 0, 0, -2.0]]),
    intercepts=np.array([-35.0]),
    thresholds={"answer": 0.5},
    report={},
)


@dataclass(frozen=True)
class Understood:
    """The search's outcome: the result to give, the decision's probability, and the
    features it read (kept for calibration and the maintainers' report)."""

    result: Result
    probability: float
    features: tuple[float, ...]
    candidates: tuple[int, ...]  # passage indexes, best first


@dataclass
class Ranker:
    retriever: Retriever
    semantic: SemanticIndex
    decision: LinearModel = DEFAULT

    def __post_init__(self) -> None:
        self._position = {p.id: i for i, p in enumerate(self.semantic.passages)}

    def search(
        self, text: str, lang: str, question: Matrix, asks_view: bool = False, hide: npt.NDArray[np.bool_] | None = None
    ) -> Understood:
        """`asks_view`: the question asks what someone says or demands, so a view may
        answer first; otherwise a fact nearly as close leads. `hide`: taught questions
        left out (see `SemanticIndex.meaning`)."""
        meaning = self.semantic.meaning(question, hide)
        words = self.retriever.search(text, lang)
        fused = meaning.combined.copy()
        word_hits = [h for h in words.hits if h.passage.id in self._position]
        for rank, hit in enumerate(word_hits[: len(WORD_BONUS)]):
            fused[self._position[hit.passage.id]] += WORD_BONUS[rank]
        order = [int(i) for i in np.argsort(-fused, kind="stable")[:10]]
        features = self._features(text, lang, meaning, fused, order, words)
        probability = float(self.decision.scores(np.array(features))[0])
        # BM25's own gate (coverage of the question's words, calibrated by `kb calibrate`)
        # still answers where its best passage is among the closest in meaning: what it
        # answered before, it answers still.
        agreed = bool(words.hits) and words.hits[0].passage.id in {self.semantic.passages[i].id for i in order[:3]}
        if probability < self.decision.thresholds.get("answer", 0.5) and not agreed:
            return Understood(Result((), None), probability, features, tuple(order))
        chosen = self._cite(order, fused, asks_view)
        hits = tuple(self._hit(i, fused, words) for i in chosen)
        return Understood(Result(hits, hits[0]), probability, features, tuple(order))

    def _features(
        self, text: str, lang: str, meaning: Meaning, fused: npt.NDArray[np.float64], order: list[int], words: Result
    ) -> tuple[float, ...]:
        top = order[0]
        second = order[1] if len(order) > 1 else top
        ids = [h.passage.id for h in words.hits]
        best = words.best
        return (
            float(meaning.combined[top]),
            float(fused[top] - fused[second]),
            float(meaning.texts[top]),
            float(words.answered),
            float(self.semantic.passages[top].id in ids),
            float(best.coverage) if best is not None else 0.0,
            math.log1p(len(text.split())),
            # asks for a figure ("how much", "combien") that the passage does not state
            float(
                self.retriever.asks_figure(text, lang) and not _DIGIT.search(self.semantic.passages[top].texts[lang])
            ),
        )

    def _cite(self, order: list[int], fused: npt.NDArray[np.float64], asks_view: bool) -> list[int]:
        passages = self.semantic.passages
        top = order[0]
        if passages[top].stance == "opinion" and not asks_view:
            # A fact nearly as close answers first; the view follows it, marked as a view.
            fact = next(
                (i for i in order[1:] if passages[i].stance == "fact" and fused[i] >= fused[top] - FACT_WITHIN), None
            )
            if fact is not None:
                top = fact
        chosen = [top]
        for i in order:
            if len(chosen) == MAX_CITED:
                break
            if i in chosen or fused[i] < fused[order[0]] - SECOND_WITHIN:
                continue
            if any(
                within(passages[i].quote, passages[c].quote) or within(passages[c].quote, passages[i].quote)
                for c in chosen
            ):
                continue
            chosen.append(i)
        if asks_view:
            return chosen
        # Facts first, each group in order of meaning.
        return sorted(chosen, key=lambda i: (passages[i].stance == "opinion", -fused[i]))

    def _hit(self, i: int, fused: npt.NDArray[np.float64], words: Result) -> Hit:
        passage: Passage = self.semantic.passages[i]
        coverage = next((h.coverage for h in words.hits if h.passage.id == passage.id), 0.0)
        return Hit(passage, float(fused[i]), coverage, 0, "meaning", i)
