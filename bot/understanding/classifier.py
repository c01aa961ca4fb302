"""A text classifier over the sentence encoder's vector and character n-grams.

Owns reading a fitted `LinearModel` whose features are the encoder's dimensions
(`e:0` ... `e:383`) followed by n-grams (`g: ab`), and scoring a message with it. Used
by triage for danger and for personal cases.

Also owns reading the labelled examples (`knowledge/classifiers/*.yaml`) and
`Neighbours`: the labelled examples nearest in meaning to a message, which a model alone
must agree with before it raises an alarm.

May import: the standard library, NumPy, PyYAML, and `bot.understanding`'s linear and
ngrams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from bot.understanding import ngrams
from bot.understanding.linear import LinearModel

EMBEDDING = "e:"
GRAM = "g:"


@dataclass(frozen=True)
class TextClassifier:
    model: LinearModel
    dim: int
    grams: dict[str, int]

    @classmethod
    def of(cls, model: LinearModel) -> TextClassifier:
        dim = sum(1 for f in model.features if f.startswith(EMBEDDING))
        grams = {f[len(GRAM) :]: i for i, f in enumerate(f for f in model.features if f.startswith(GRAM))}
        return cls(model, dim, grams)

    def scores(self, text: str, vector: npt.NDArray[np.float32]) -> dict[str, float]:
        return self.scores_each(text, (vector,))[0]

    def scores_each(self, text: str, vectors: Sequence[npt.NDArray[np.float32]]) -> list[dict[str, float]]:
        """The scores of the text read with each of its vectors (its n-grams counted once)."""
        grams = ngrams.vector(text, self.grams)
        found = []
        for vector in vectors:
            probabilities = self.model.scores(np.concatenate([vector.astype(np.float64)[: self.dim], grams]))
            found.append({c: float(p) for c, p in zip(self.model.classes, probabilities, strict=True)})
        return found


@dataclass(frozen=True)
class Example:
    text: str
    language: str
    label: str


# libyaml's loader where PyYAML has it (its wheels do): thousands of examples are read at
# every start, ten times faster than by the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_examples(path: Path) -> list[Example]:
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or []
    return [Example(str(r["text"]), str(r["lang"]), str(r["label"])) for r in raw]


@dataclass(frozen=True)
class Neighbours:
    """Labelled examples' vectors, and whether each is of the class that calls for a
    person (a danger, a personal case). `agree` says whether at least half of a message's
    `K` nearest examples are: the linear model's score can be high on a text unlike
    anything it learnt ("repeat after me: ..."), its neighbours then say so."""

    vectors: npt.NDArray[np.float32]
    danger: npt.NDArray[np.bool_]

    K = 10

    def agree(self, vector: npt.NDArray[np.float32]) -> bool:
        if not len(self.danger):
            return True
        similarities = self.vectors @ vector
        k = min(self.K, len(similarities))
        nearest = np.argpartition(-similarities, k - 1)[:k]
        return bool(self.danger[nearest].mean() >= 0.5)
