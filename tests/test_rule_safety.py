"""One short message cannot stop the bot: triage rules are safe by construction.

The red-team run found a rule (`emergency.violence.en`, "(?: was| just| was just ...)+")
that split " was just" in exponentially many ways: a 273-character message held the event
loop for minutes. Here: `kb check` refuses every rule of that class (and any rule slow on
its own words), the shipped rules pass, and triage's time grows linearly with the message.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import rule_safety
from bot.kbcheck import check, errors
from bot.normalize import fold_pattern
from bot.triage import Triage, windows

ROOT = Path(__file__).resolve().parent.parent
RULES = yaml.safe_load((ROOT / "knowledge" / "triage.yaml").read_text(encoding="utf-8"))
TRIAGE = Triage.from_rules(RULES)

# The rule the red team found, as it was written.
CATASTROPHIC = (
    r"\b(?:i|we)(?:'ve| have| had|'m| am| are|'re| was| were| just| got| get| been| being| getting| was just"
    r"| just got| have been)+ (?:hit|beaten|stabbed)\b"
)


def all_rules(node: object) -> list[str]:
    if isinstance(node, dict):
        return [r for v in node.values() for r in all_rules(v)]
    if isinstance(node, list):
        return [r for r in node if isinstance(r, str)]
    return []


@pytest.mark.parametrize(
    "rule",
    [
        CATASTROPHIC,
        r"\b(?:a|a)+b",
        r"(?: x| x y)*z",
        r"(?:\w+ )*end",  # a group of a repeat, repeated without bound
        r"(?:(?:ab|a){,3}b){,3}",  # a repeated group inside a repeated group
        r"(?: \w+){,40} x",  # bounded, but too far
        r"x(?!(?: y| y z)+w)",  # inside a lookahead too
        r"x(?i:( y| y z)+)w",  # inside a group with flags, and a capturing one
        r"(?:unclosed",  # does not compile: not run at all
    ],
)
def test_a_rule_that_can_backtrack_catastrophically_is_refused_by_its_shape(rule: str) -> None:
    assert rule_safety.shape_problems(rule)


@pytest.mark.parametrize(
    "rule",
    [
        r"\b(?:i|we)(?:'ve| have| was| just| got| been){1,4} (?:hit|beaten)\b",
        r"\b(?>(?: x| x y)+)z",  # atomic: never backtracked into
        r"(?: x| x y)*+z",  # possessive
        r"\bhe(?: \w+){,4} (?:is not|isn'?t) (?:moving|breathing)\b",
        r"[^.!?]*\bdetention\b",
        r"\b(?:big |huge )?(?:fire|blaze)\b",  # an optional group is not a repeat
    ],
)
def test_bounded_atomic_possessive_and_single_character_repeats_are_accepted(rule: str) -> None:
    assert rule_safety.shape_problems(rule) == []
    assert rule_safety.problems(rule) == []


def test_a_rule_slow_on_its_own_words_is_refused_by_its_measured_cost() -> None:
    # Its shape is allowed (repeats of one class), but adjacent repeats of the same
    # characters multiply: O(n^4) in the length of a run of letters, and no digit ends it.
    rule = r"\w*\w*\w*\w*\d"
    assert rule_safety.shape_problems(rule) == []
    found = rule_safety.problems(rule)
    assert found and "ms on a text of its own words" in found[0]


def test_adversarial_texts_are_made_of_the_rules_words_and_fill_a_window() -> None:
    texts = rule_safety.adversarial_texts(CATASTROPHIC)
    assert texts and all(len(t) == rule_safety.WINDOW for t in texts)
    words = set(re.findall(r"[a-z]+", fold_pattern(CATASTROPHIC)))
    assert all(set(re.findall(r"[a-z]+", t.rsplit(" ", 1)[0])) <= words for t in texts[:-1])
    assert any(re.search(r"^\w+(?: (\w+ \w+))(?: \1)+", t) for t in texts)  # pairs of words repeated


def test_every_shipped_rule_is_safe() -> None:
    unsafe = {r: rule_safety.problems(r) for r in all_rules(RULES) if rule_safety.problems(r)}
    assert not unsafe


def test_kb_check_refuses_the_red_team_rule_at_its_line(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    path = knowledge / "triage.yaml"
    text = path.read_text(encoding="utf-8")
    assert "      - suicid\n" in text
    quoted = "'" + CATASTROPHIC.replace("'", "''") + "'"  # YAML doubles a quote inside quotes
    path.write_text(text.replace("      - suicid\n", f"      - suicid\n      - {quoted}\n", 1), encoding="utf-8")
    line = next(n for n, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "getting| was just" in t)
    problems = [p for p in errors(check(knowledge)) if "exponentially" in p.message]
    assert problems and problems[0].file == "knowledge/triage.yaml" and problems[0].line == line


def _assess_seconds(text: str) -> float:
    start = time.perf_counter()
    TRIAGE.assess(text)
    return time.perf_counter() - start


def test_the_red_team_message_is_assessed_at_once() -> None:
    # 0.38 s at 20 repeats, four times more for every two more, before.
    assert _assess_seconds("i" + " was just" * 200 + " x") < 0.1


def test_assessment_time_grows_linearly_with_the_message() -> None:
    unit = " was just got been have" * 4
    short = min(_assess_seconds(unit * 25) for _ in range(3))
    long = min(_assess_seconds(unit * 200) for _ in range(3))
    assert long < 20 * short  # 8 times the text: linear is 8, quadratic 64


def test_a_long_message_is_read_in_overlapping_windows_that_start_at_words() -> None:
    text = " ".join(f"word{i}" for i in range(1000))
    read = windows(text)
    assert len(read) > 1 and all(len(w) <= rule_safety.WINDOW for w in read)
    assert all(w.startswith("word") for w in read)
    # Any phrase of up to half a window that starts at a word lies whole in one of them.
    for start in [m.start() for m in re.finditer(r"\bword", text)][::7]:
        phrase = text[start : start + 300]
        assert any(phrase in w for w in read)


def test_a_danger_at_the_end_of_a_long_message_is_still_found() -> None:
    story = "I came to Canada two years ago and I work in a restaurant. " * 80
    assert TRIAGE.assess(story + "Right now he has a knife and he is hitting me").kind == "emergency"


_WORDS = sorted({w for r in all_rules(RULES) for w in re.findall(r"[a-z']{2,}", fold_pattern(r))})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=6), st.integers(min_value=1, max_value=400))
def test_repetitions_of_the_rules_own_words_are_assessed_in_bounded_time(words: list[str], repeats: int) -> None:
    text = (" " + " ".join(words)) * repeats
    text = text[:8000]
    # About 0.02 ms a character at worst here (ten times that allowed for a busy machine); an
    # exponential rule takes seconds at 300 characters.
    assert _assess_seconds(text) < 0.2 + len(text) * 0.0002
