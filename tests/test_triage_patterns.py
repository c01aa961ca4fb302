"""Triage's compiled rules find exactly what the rules as written find.

The rules of a category are compiled into at most two patterns (those starting at a word
boundary share one `\\b`), and the Arabic list is tried only where there are Arabic
letters, because one alternation of every rule was the costliest step of an answer.
These tests hold the faster form to the plain one: the same verdict on every category,
for the real rules, on real questions and on text made of the rules' own words.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.normalize import fold, fold_pattern, has_arabic
from bot.triage import Triage, Verdict, _compile, _starts_at_boundary

ROOT = Path(__file__).resolve().parents[1]
RULES: dict[str, Any] = yaml.safe_load((ROOT / "knowledge" / "triage.yaml").read_text(encoding="utf-8"))


def _categories() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"emergency.{name}", rules) for name, rules in RULES["emergency"].items()]
    return found + [(f"legal.{name}", rules) for name, rules in RULES["legal"].items()]


def _plain(per_language: dict[str, Any]) -> re.Pattern[str]:
    """The rules as one alternation, as they are written."""
    patterns = [fold_pattern(str(p)) for lang in sorted(per_language) for p in per_language[lang] or ()]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


CATEGORIES = _categories()
COMPILED = [(name, _plain(rules), _compile(rules)) for name, rules in CATEGORIES]
# Words of the rules themselves, so that generated texts come near to matching.
WORDS = sorted(
    {w for _, rules in CATEGORIES for ps in rules.values() for p in ps or () for w in re.findall(r"\w+", fold(str(p)))}
)
QUESTIONS = [
    str(case["q"]) for case in yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8"))
]


def _same_everywhere(text: str) -> None:
    folded = fold(text)
    for name, plain, fast in COMPILED:
        assert bool(plain.search(folded)) == fast.found((folded,), has_arabic(folded)), (name, text)


def test_every_calibration_question_gets_the_same_verdict_from_the_compiled_rules() -> None:
    assert len(QUESTIONS) > 100
    for question in QUESTIONS:
        _same_everywhere(question)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=12))
def test_text_made_of_the_rules_words_gets_the_same_verdict(parts: list[str]) -> None:
    _same_everywhere(" ".join(parts))
    _same_everywhere("".join(parts))


def test_a_rule_with_an_alternative_outside_brackets_is_not_given_a_shared_boundary() -> None:
    assert _starts_at_boundary(r"\b(kill|hurt) myself\b")
    assert not _starts_at_boundary(r"\bend it|give up")
    assert not _starts_at_boundary("suicid")
    assert _starts_at_boundary(r"\b[|(]x")
    assert _starts_at_boundary(r"\bx\|y")
    # "\bfoo|bar" also matches "bar" inside a word; shared, its boundary would not.
    rules = {"en": [r"\bfoo|bar"]}
    assert _compile(rules).found(("crowbar",), arabic=False)


def test_a_category_without_rules_matches_nothing() -> None:
    triage = Triage.from_rules({"emergency": {"medical": {"en": []}}, "legal": {}})
    assert triage.assess("help, he is not breathing").kind == ""


def test_every_arabic_rule_is_written_in_arabic_script_or_also_listed_for_another_language() -> None:
    # Arabic rules are tried only on messages with Arabic letters: one without any would
    # be lost on the others, unless another language lists it too ("\?").
    sections = [*RULES["emergency"].values(), *RULES["legal"].values()]
    sections += [RULES["elsewhere"]["markers"], RULES["elsewhere"]["unless"]]
    for rules in sections:
        others = {str(p) for lang, ps in rules.items() if lang != "ar" for p in ps or ()}
        for pattern in rules.get("ar") or ():
            assert has_arabic(fold(str(pattern))) or str(pattern) in others, pattern


def test_a_rule_is_folded_with_its_escapes_and_repeats_as_written() -> None:
    assert fold_pattern(r"\bDOULEUR.{0,15}Poitrine\b") == r"\bdouleur.{0,15}poitrine\b"
    assert fold_pattern(r"\b\d{2,4} MIL") == r"\b\d{2,4} mil"
    triage = Triage.from_rules({"emergency": {"medical": {"ar": ["الم.{0,15}صدر"]}}, "legal": {}})
    assert triage.assess("عندي ألم شديد في الصدر") == Verdict("emergency", "medical")
