"""Character n-grams of a message, folded: what survives typos, missing accents and the
many spellings of a dialect ("mafi", "ma fi", "مافي"; "pogné", "pogne").

Owns the one featurisation that training and triage share: the text folded as rules see
it, each word padded with spaces, its n-grams of `SIZES` characters counted, the counts
damped (1 + log) and the vector scaled to unit length over a fixed vocabulary.

May import: the standard library, NumPy and `bot.normalize`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from bot.normalize import fold

SIZES = (3, 4, 5)
_WORD = re.compile(r"\w+")
# Only so much of a message is counted, its beginning and its end: enough for a danger
# told in a few lines wherever it is (the rules read all of it).
READ = 2000


def grams(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    read = text if len(text) <= 2 * READ else text[:READ] + " " + text[-READ:]
    for word in _WORD.findall(fold(read)):
        padded = f" {word} "
        for n in SIZES:
            if len(padded) < n:
                continue
            found.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return found


def vocabulary(texts: Iterable[str], size: int, min_count: int = 3) -> tuple[str, ...]:
    """The `size` n-grams found in the most texts (at least `min_count`), in a stable order."""
    documents: Counter[str] = Counter()
    for text in texts:
        documents.update(set(grams(text)))
    kept = [g for g, c in sorted(documents.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count][:size]
    return tuple(sorted(kept))


def vector(text: str, index: dict[str, int]) -> npt.NDArray[np.float64]:
    out = np.zeros(len(index))
    for gram, count in grams(text).items():
        at = index.get(gram)
        if at is not None:
            out[at] = 1.0 + math.log(count)
    norm = float(np.linalg.norm(out))
    return out / norm if norm else out


def matrix(texts: Sequence[str], index: dict[str, int]) -> npt.NDArray[np.float64]:
    return np.stack([vector(t, index) for t in texts]) if texts else np.zeros((0, len(index)))
