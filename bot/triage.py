"""Triage: is this message an emergency, or a personal legal situation for a person?

Owns reading the rules of `knowledge/triage.yaml` into compiled patterns and applying
them. Runs first, on every message, on the whole text, in every language at once
(people mix languages, and a missed emergency is the worst failure).

May import: the standard library and `bot.normalize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.normalize import fold

_ESCAPE = re.compile(r"\\.")


def _fold_pattern(pattern: str) -> str:
    """Fold a rule the way messages are folded, leaving its escapes (\\b, \\w) alone."""
    parts, last = [], 0
    for m in _ESCAPE.finditer(pattern):
        parts.append(fold(pattern[last : m.start()]))
        parts.append(m.group())
        last = m.end()
    parts.append(fold(pattern[last:]))
    return "".join(parts)


def _compile(per_language: dict[str, Any]) -> re.Pattern[str]:
    patterns = [_fold_pattern(str(p)) for lang in sorted(per_language) for p in per_language[lang] or ()]
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else re.compile(r"(?!)")


@dataclass(frozen=True)
class Verdict:
    """`kind` is "emergency", "handoff" or "" (nothing for a person); `category` says
    which emergency ("suicide", "medical", "violence")."""

    kind: str
    category: str = ""


@dataclass(frozen=True)
class Triage:
    emergency: tuple[tuple[str, re.Pattern[str]], ...]
    personal: re.Pattern[str]
    case: re.Pattern[str]
    ask: re.Pattern[str]

    @classmethod
    def from_rules(cls, rules: dict[str, Any]) -> Triage:
        emergency = rules.get("emergency") or {}
        legal = rules.get("legal") or {}
        # Suicide first: its reply carries the 9-8-8 line as well as 911.
        order = sorted(emergency, key=lambda name: (name != "suicide", name))
        return cls(
            emergency=tuple((name, _compile(emergency[name])) for name in order),
            personal=_compile(legal.get("personal") or {}),
            case=_compile(legal.get("case") or {}),
            ask=_compile(legal.get("ask") or {}),
        )

    def assess(self, text: str) -> Verdict:
        folded = fold(text)
        for name, pattern in self.emergency:
            if pattern.search(folded):
                return Verdict("emergency", name)
        if self.personal.search(folded) and self.case.search(folded) and self.ask.search(folded):
            return Verdict("handoff")
        return Verdict("")
