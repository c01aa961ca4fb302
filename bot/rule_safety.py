"""Rule safety: a triage rule that maintainers write cannot make the bot slow for others.

Owns two checks on a rule (a regular expression run by Python's backtracking engine on
every message), both used by `kb check` and by the tests:

- its *shape*: catastrophic backtracking needs a group that is repeated, and whose
  repetitions can split one text in many ways ("(?: was just| just got| was)+" splits
  " was just got" three ways, and each more copy multiplies them). A repeated group is
  bounded here (at most `MAX_GROUP_REPEAT` times, `?` aside) and never inside another
  repeated group, unless it is atomic ((?>...)) or possessive (*+, {,3}+), where the
  engine never backtracks into it. Repeats of one character or class (\\w+, [^.]{,30})
  are free: they cost at most polynomial time, which the window of triage bounds;
- its *cost*, measured: the rule is run on adversarial texts made of its own words
  repeated up to one triage window, and refused if one search takes longer than
  `MAX_SEARCH_SECONDS`.

With both, and with triage reading a message in windows of bounded size, the time to
assess a message grows linearly with its length.

May import: the standard library and `bot.normalize`.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import random
import re
import time
from typing import Any

from bot.normalize import fold_pattern

# Private modules of the standard library's `re`, read for their parse tree only: the
# stable form of a pattern that the engine itself compiles.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

MAX_GROUP_REPEAT = 8
# A rule's worst search on a window of text made of its own words. Ordinary rules take
# microseconds; an exponential one takes seconds from a few dozen words on.
MAX_SEARCH_SECONDS = 0.05
# What triage reads at once (see bot.triage): the adversarial texts are this long.
WINDOW = 600

_ATOMS = frozenset({_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.ANY, _c.CATEGORY})
_REPEATS = frozenset({_c.MAX_REPEAT, _c.MIN_REPEAT})


def shape_problems(rule: str) -> list[str]:
    """What in the rule's shape can backtrack catastrophically (empty when nothing)."""
    try:
        tree = _parser.parse(fold_pattern(rule))
    except re.error as exc:
        return [f"does not compile: {exc}"]
    problems: list[str] = []
    _walk(tree, False, problems)
    return problems


def _walk(items: Any, in_repeat: bool, problems: list[str]) -> None:
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            if len(body) == 1 and body[0][0] in _ATOMS:
                continue  # one character or class repeated: polynomial at worst
            if high > 1:
                if high == _c.MAXREPEAT:
                    problems.append(
                        "a group repeated without bound (*, +, {n,}) can split one text in exponentially many "
                        "ways: bound it ({,4}) or make it atomic ((?>...))"
                    )
                elif high > MAX_GROUP_REPEAT:
                    problems.append(f"a group repeated up to {high} times: at most {MAX_GROUP_REPEAT}")
                if in_repeat:
                    problems.append("a repeated group inside a repeated group: make the inner one atomic ((?>...))")
            _walk(body, in_repeat or high > 1, problems)
        elif op == _c.SUBPATTERN:
            _walk(av[-1], in_repeat, problems)
        elif op == _c.BRANCH:
            for branch in av[1]:
                _walk(branch, in_repeat, problems)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            _walk(av[1], in_repeat, problems)
        # Atomic groups and possessive repeats are never backtracked into: nothing to check.


_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def adversarial_texts(rule: str, seed: int = 0) -> list[str]:
    """Texts of one window made of the rule's own words: each word (and each pair of
    neighbouring words) repeated, the words shuffled, and the first word without spaces."""
    folded = fold_pattern(rule)
    words = _WORDS.findall(re.sub(r"\\.", " ", folded)) or ["a"]
    rng = random.Random(seed)
    pieces = [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]
    texts = [_fill(f" {piece}", words[0]) for piece in rng.sample(pieces, min(len(pieces), 24))]
    texts += [_fill(" " + " ".join(rng.choice(words) for _ in range(8)), words[0]) for _ in range(4)]
    texts.append(_fill(words[0], ""))  # one long word: runs that \w* and [^ ]* can split
    return texts


def _fill(unit: str, first: str) -> str:
    return (first + unit * (WINDOW // len(unit) + 1))[:WINDOW]


# Each text is searched at growing lengths, ended by a character no rule ends on (so that
# a search fails late, after trying every way to match): a rule whose cost grows fast is
# caught on a short text, before it can hold the check itself for minutes.
_LENGTHS = (60, 120, 240, WINDOW)


@functools.lru_cache(maxsize=4096)  # a knowledge base's rules are checked on every kb check
def slowest_search(rule: str) -> float:
    """The longest time, in seconds, one search of the rule takes on its adversarial texts
    (a rule whose shape is refused is not run: it could run for hours)."""
    compiled = re.compile(fold_pattern(rule))
    worst = 0.0
    for text in adversarial_texts(rule):
        for length in _LENGTHS:
            probe = text[:length] + " \x00"
            took = _timed(compiled, probe)
            if took > MAX_SEARCH_SECONDS:
                # Measured again: a busy machine can pause any search; a slow rule is slow
                # every time.
                took = min(took, _timed(compiled, probe), _timed(compiled, probe))
            worst = max(worst, took)
            if worst > MAX_SEARCH_SECONDS:
                return worst
    return worst


def _timed(compiled: re.Pattern[str], text: str) -> float:
    start = time.perf_counter()
    compiled.search(text)
    return time.perf_counter() - start


def problems(rule: str) -> list[str]:
    """Shape first, then cost: everything that makes the rule unsafe to run on every message."""
    found = shape_problems(rule)
    if found:
        return found
    slowest = slowest_search(rule)
    if slowest > MAX_SEARCH_SECONDS:
        return [
            f"one search took {slowest * 1000:.0f} ms on a text of its own words (at most "
            f"{MAX_SEARCH_SECONDS * 1000:.0f} ms): repeats that can match the same characters "
            "next to each other (\\w*\\w*) multiply the work"
        ]
    return []
