"""Meaning ranking at scale (not part of the test run).

    .venv/bin/python tests/benchmarks/bench_semantic.py [--passages 50000]

The semantic index's cost does not depend on what the vectors say, only on how many
there are: this builds one over N passages, each with four texts (one per language) and
`--taught` questions (8 by default), from random unit vectors of the encoder's size (encoding 50,000
real passages would take hours here), and times `SemanticIndex.meaning` for 200 random
questions: p50, p99 and the memory of the matrices. The encoder's own time per question
is in bench_core.py.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bot.understanding.semantic import SemanticIndex

DIM = 384


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    units: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return units


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=50_000)
    parser.add_argument("--taught", type=int, default=8, help="taught questions per passage")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=1, user_api="blas")  # as the bot runs it
    rng = np.random.default_rng(7)
    n = args.passages
    index = SemanticIndex(
        passages=tuple(range(n)),  # type: ignore[arg-type]
        texts=unit(rng, 4 * n),
        text_owner=np.repeat(np.arange(n), 4),
        examples=unit(rng, args.taught * n),
        example_owner=np.repeat(np.arange(n), args.taught),
    )
    questions = unit(rng, 200)
    took = []
    for q in questions:
        start = time.perf_counter()
        index.meaning(q)
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    megabytes = (index.texts.nbytes + index.examples.nbytes) / 2**20
    taught = args.taught * n
    print(f"passages {n:,}: {4 * n:,} texts and {taught:,} taught questions, {megabytes:.0f} MB of vectors")
    p50, p99 = statistics.median(took), took[int(len(took) * 0.99)]
    print(f"meaning p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p50 <= 30 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
