"""Passages ranked by meaning: the question's vector against each passage's texts in the
four languages and against the questions it is known to be asked as.

Owns the semantic index of a knowledge base: for every usable passage, the best cosine
of the question with any of its texts (`texts`), and with any of its taught questions
(`examples`, from `knowledge/asked_as.yaml`); a passage's meaning score is their mean
where it has examples, its text score where it has none.

May import: the standard library, NumPy, `bot.knowledge`, `bot.understanding.encoder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.knowledge import Passage
from bot.normalize import LANGUAGES
from bot.understanding.encoder import PASSAGE, QUESTION, Matrix, Vectors

Scores = npt.NDArray[np.float64]
UNTAUGHT = 0.0


@dataclass(frozen=True)
class Meaning:
    """Per passage (in index order): the best cosine with one of its texts, with one of its
    taught questions (-1 where it has none), and the two combined."""

    texts: Scores
    examples: Scores
    combined: Scores


@dataclass(frozen=True)
class SemanticIndex:
    passages: tuple[Passage, ...]
    texts: Matrix
    text_owner: npt.NDArray[np.intp]
    examples: Matrix
    example_owner: npt.NDArray[np.intp]
    example_texts: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, passages: Sequence[Passage], asked_as: dict[str, dict[str, tuple[str, ...]]], vectors: Vectors
    ) -> SemanticIndex:
        texts: list[str] = []
        text_owner: list[int] = []
        examples: list[str] = []
        example_owner: list[int] = []
        for i, p in enumerate(passages):
            for lang in LANGUAGES:
                if p.texts.get(lang):
                    texts.append(p.texts[lang])
                    text_owner.append(i)
            for lang in LANGUAGES:
                for q in asked_as.get(p.id, {}).get(lang, ()):
                    examples.append(q)
                    example_owner.append(i)
        return cls(
            tuple(passages),
            vectors.of(texts, PASSAGE),
            np.array(text_owner, dtype=np.intp),
            vectors.of(examples, QUESTION),
            np.array(example_owner, dtype=np.intp),
            tuple(examples),
        )

    def meaning(self, question: Matrix, hide: npt.NDArray[np.bool_] | None = None) -> Meaning:
        """`hide`: taught questions to leave out (training measures a question as if
        nobody had taught its near copies)."""
        n = len(self.passages)
        texts = _best_by_owner(self.texts @ question, self.text_owner, n)
        similarities = self.examples @ question
        if hide is not None:
            similarities = np.where(hide, np.float32(-1.0), similarities)
        examples = _best_by_owner(similarities, self.example_owner, n)
        # A passage nobody has taught a question yet counts its text score alone: one just
        # added by a maintainer answers from the start (`UNTAUGHT` would lower it).
        combined = np.where(examples > -1.0, (texts + examples) / 2.0, texts - UNTAUGHT)
        return Meaning(texts, examples, combined)


def _best_by_owner(similarities: npt.NDArray[np.float32], owner: npt.NDArray[np.intp], n: int) -> Scores:
    """The best similarity of each passage's rows (-1 where it has none). Rows are kept in
    passage order, so each passage's rows are one run: a reduction per run, not per row."""
    best = np.full(n, -1.0)
    if len(owner):
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        best[owner[starts]] = np.maximum.reduceat(similarities, starts)
    return best
