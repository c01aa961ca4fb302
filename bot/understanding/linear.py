"""Learned linear models as data: weights a maintainer can read, applied with NumPy.

Owns the format of `knowledge/models/*.json`: named features, one row of weights per
class, an intercept per class, and the thresholds chosen on data; and applying it
(`LinearModel.scores`, a softmax or a sigmoid). Fitting lives in `training`.

May import: the standard library and NumPy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LinearModel:
    """`classes[i]` scores `weights[i] . x + intercepts[i]`. With one class, the score is
    a probability (sigmoid); with several, they sum to one (softmax)."""

    classes: tuple[str, ...]
    features: tuple[str, ...]
    weights: Floats  # (classes, features)
    intercepts: Floats  # (classes,)
    thresholds: dict[str, float]
    report: dict[str, Any]

    def scores(self, x: Floats) -> Floats:
        z = self.weights @ x + self.intercepts
        if len(self.classes) == 1:
            out: Floats = 1.0 / (1.0 + np.exp(-z))
            return out
        e = np.exp(z - z.max())
        soft: Floats = e / e.sum()
        return soft

    @classmethod
    def read(cls, path: Path) -> LinearModel | None:
        if not path.exists():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            classes=tuple(raw["classes"]),
            features=tuple(raw["features"]),
            weights=np.array(raw["weights"], dtype=np.float64).reshape(len(raw["classes"]), len(raw["features"])),
            intercepts=np.array(raw["intercepts"], dtype=np.float64),
            thresholds={str(k): float(v) for k, v in raw.get("thresholds", {}).items()},
            report=dict(raw.get("report", {})),
        )

    def write(self, path: Path, note: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = {
            "note": note,
            "classes": list(self.classes),
            "thresholds": self.thresholds,
            "report": self.report,
            "features": list(self.features),
            "intercepts": [round(float(v), 6) for v in self.intercepts],
            "weights": [[round(float(v), 6) for v in row] for row in self.weights],
        }
        path.write_text(json.dumps(raw, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
