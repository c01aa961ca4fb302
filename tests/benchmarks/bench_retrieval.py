"""Retrieval at scale, on synthetic knowledge bases (not part of the test run).

    .venv/bin/python tests/benchmarks/bench_retrieval.py [--sizes 1000 10000 50000]
        [--languages en fr es ar] [--repeat 3] [--seed 0]

(--sizes 1000,10000 and --languages en,fr work too.)

Each size is a knowledge base of that many passages made from the real one: every
synthetic passage copies a real passage's topics and the length of its text in each
language, and draws its words (and its English quote's) from the words of all the real
texts of that language, so common words stay common. The glossary, topics, stop words
and thresholds are the real ones, so the Retriever builds as in production. Languages
left out with --languages get empty texts: their indexes still build, but cheaply.

For each size and language, in a fresh process (so that the peak resident memory,
`ru_maxrss`, is that size's own):
  - build: the time to build that language's index;
  - p50/p99: one search of that language's index (`search_in(q, lang, lang)`) with each
    calibration question of the language, --repeat times, warm;
  - before p50: the same searches scored as before postings, by plain rank-bm25
    `get_scores` over the whole corpus, one term at a time, and a sort of every document;
  - identical: for every question, the top 10 documents (order, and scores within
    1e-9) against that plain scoring, and the whole result (hits, scores, coverage,
    decision) against the one the plain scoring gives.
The target is a p50 under 5 ms at 50,000 passages.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot import retrieval  # noqa: E402
from bot.knowledge import KnowledgeBase, load  # noqa: E402
from bot.normalize import LANGUAGES  # noqa: E402
from bot.retrieval import Result, Retriever  # noqa: E402
from tests.plain_bm25 import plain_scores, whole_corpus_order  # noqa: E402

TOP = 10
TOLERANCE = 1e-9


def synthetic(kb: KnowledgeBase, size: int, languages: list[str], seed: int) -> KnowledgeBase:
    rng = random.Random(seed)
    real = kb.usable_passages
    words = {lang: [w for p in real for w in p.texts[lang].split()] for lang in languages}
    quote_words = [w for p in real for w in p.quote.split()]
    passages = []
    for n in range(size):
        model = rng.choice(real)
        texts = {
            lang: " ".join(rng.choices(words[lang], k=len(model.texts[lang].split()))) if lang in words else ""
            for lang in LANGUAGES
        }
        quote = " ".join(rng.choices(quote_words, k=len(model.quote.split())))
        passages.append(dataclasses.replace(model, id=f"synthetic-{n:06d}", texts=texts, quote=quote))
    return dataclasses.replace(kb, passages=tuple(passages), source_texts={})


def same_top(fast: Any, plain: list[float]) -> bool:
    got = retrieval._best(fast, TOP)
    want = [i for i in whole_corpus_order(plain, TOP) if plain[i] > 0]
    return got == want and all(math.isclose(fast[i], plain[i], rel_tol=0.0, abs_tol=TOLERANCE) for i in want)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure(size: int, languages: list[str], repeat: int, seed: int) -> list[dict[str, Any]]:
    kb = load(ROOT / "knowledge")
    calibration = yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8"))
    big = synthetic(kb, size, languages, seed)
    del kb

    build: dict[str, float] = {}
    real_build = Retriever._build

    def timed_build(self: Retriever, lang: str, passages: Any) -> Any:
        started = time.perf_counter()
        index = real_build(self, lang, passages)
        build[lang] = time.perf_counter() - started
        return index

    Retriever._build = timed_build  # type: ignore[method-assign]
    try:
        retriever = Retriever(big)
    finally:
        Retriever._build = real_build  # type: ignore[method-assign]

    fast_scoring, fast_best = retrieval._weighted_scores, retrieval._best
    rows = []
    for lang in languages:
        questions = [str(c["q"]) for c in calibration if c["lang"] == lang]
        index = retriever._indexes[lang]
        for q in questions[:3]:  # warm
            retriever.search_in(q, lang, lang)
        times = []
        for _ in range(repeat):
            for q in questions:
                started = time.perf_counter()
                retriever.search_in(q, lang, lang)
                times.append((time.perf_counter() - started) * 1000)

        # Identity, and the time of the same searches scored over the whole corpus as
        # before (rank-bm25 then got `doc_len` as a list).
        identical = True
        plain_times = []
        packed_doc_len = index.bm25.doc_len
        for q in questions:
            seen: list[tuple[dict[str, float], Any]] = []

            def recording(ix: Any, weights: dict[str, float], seen: list[Any] = seen) -> Any:
                scores = fast_scoring(ix, weights)
                seen.append((dict(weights), scores))
                return scores

            retrieval._weighted_scores = recording  # type: ignore[assignment]
            fast_result = retriever.search_in(q, lang, lang)
            plains: list[list[float]] = []

            def plain(ix: Any, weights: dict[str, float], plains: list[list[float]] = plains) -> Any:
                scores = plain_scores(ix, weights)
                plains.append(scores)
                return np.array(scores)

            retrieval._weighted_scores = plain  # type: ignore[assignment]
            retrieval._best = whole_corpus_order  # type: ignore[assignment]  # the plain reference takes lists
            index.bm25.doc_len = list(packed_doc_len)
            try:
                started = time.perf_counter()
                plain_result: Result = retriever.search_in(q, lang, lang)
                plain_times.append((time.perf_counter() - started) * 1000)
            finally:
                retrieval._weighted_scores, retrieval._best = fast_scoring, fast_best
                index.bm25.doc_len = packed_doc_len
            same = plain_result == fast_result and len(seen) == len(plains)
            same = same and all(same_top(f, p) for (_, f), p in zip(seen, plains, strict=False))
            if not same:
                print(f"DIFFERENT: {lang} {size} {q!r}", file=sys.stderr)
            identical = identical and same

        rows.append(
            {
                "language": lang,
                "size": size,
                "build_s": build[lang],
                "p50_ms": statistics.median(times),
                "p99_ms": percentile(times, 0.99),
                "plain_p50_ms": statistics.median(plain_times),
                "questions": len(questions),
                "identical": identical,
            }
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    for row in rows:
        row["rss_mb"] = peak_mb
    return rows


def split(values: list[str]) -> list[str]:
    """Values given apart or with commas (run_all.py passes `--sizes 1000,10000`)."""
    return [v for value in values for v in value.split(",") if v]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["1000", "10000", "50000"])
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # one size, in a fresh process
    args = parser.parse_args()
    args.sizes = [int(size) for size in split(args.sizes)]
    args.languages = split(args.languages)
    if unknown := set(args.languages) - set(LANGUAGES):
        parser.error(f"unknown languages {sorted(unknown)}: choose among {', '.join(LANGUAGES)}")
    if args.worker is not None:
        print(json.dumps(measure(args.worker, args.languages, args.repeat, args.seed)))
        return 0

    header = (
        f"{'lang':<5}{'passages':>9}{'build':>9}{'p50':>9}{'p99':>9}"
        f"{'before p50':>12}{'peak RSS':>10}  identical to plain rank-bm25"
    )
    print(f"Python {sys.version.split()[0]}, seed {args.seed}, {args.repeat} runs of each calibration question")
    print(header)
    print("-" * len(header))
    ok = True
    for size in args.sizes:
        command = [sys.executable, __file__, "--worker", str(size), "--repeat", str(args.repeat)]
        command += ["--seed", str(args.seed), "--languages", *args.languages]
        out = subprocess.run(command, check=True, capture_output=True, text=True, encoding="utf-8")
        sys.stderr.write(out.stderr)
        for row in json.loads(out.stdout):
            ok = ok and row["identical"]
            print(
                f"{row['language']:<5}{row['size']:>9,}{row['build_s']:>8.1f}s{row['p50_ms']:>7.2f}ms"
                f"{row['p99_ms']:>7.2f}ms{row['plain_p50_ms']:>10.1f}ms{row['rss_mb']:>8.0f}MB"
                f"  {'yes' if row['identical'] else 'NO'} ({row['questions']} questions)"
            )
            sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
