"""Triage: is this message an emergency, or a personal legal situation for a person?

Owns reading the rules of `knowledge/triage.yaml` into compiled patterns and applying
them. Runs first, on every message, on the whole text, in every language at once
(people mix languages, and a missed emergency is the worst failure); the rules written
in Arabic script are tried where the message has Arabic letters.

Reads the message in windows of bounded length (see `windows`), and runs only rules that
`bot.rule_safety` accepts (kb check refuses the others): the time to assess a message
grows linearly with its length, whatever it holds.

The learned models (`Models`) add recall on top of the rules. A rule's match stays an
emergency, except that on a short message the danger model finds clearly ordinary it
becomes a possible danger (the answer, with what to do if in danger first); never a
suicide rule's. A rules' handoff stands, except where the personal model finds the message
more clearly general than any personal case the rules caught in its training (`keep`).

May import: the standard library, NumPy, `bot.normalize`, `bot.rule_safety` and
`bot.understanding.classifier`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.normalize import fold, fold_pattern, has_arabic
from bot.rule_safety import WINDOW
from bot.understanding.classifier import Neighbours, TextClassifier

_BOUNDARY = r"\b"
# Windows overlap by half: any match of up to WINDOW / 2 characters that starts at a word
# lies whole in one.
_STRIDE = WINDOW // 2


def windows(folded: str) -> tuple[str, ...]:
    """The message as triage reads it: whole when it fits one window, else windows of
    `WINDOW` characters every `_STRIDE`, each starting at a word. A rule's search then
    costs the same in every window, so a message's cost grows linearly with its length,
    whatever it holds (a rule's lookahead that scans to the end of a sentence, `[^.]*`,
    scans to the end of its window)."""
    if len(folded) <= WINDOW:
        return (folded,)
    found = []
    for start in range(0, len(folded) - _STRIDE, _STRIDE):
        begin = start
        if start and folded[start - 1].isalnum():
            # Begin at the next word: a window must not begin in the middle of one.
            space = folded.find(" ", start, start + _STRIDE // 2)
            begin = space + 1 if space >= 0 else start
        found.append(folded[begin : start + WINDOW])
    return tuple(found)


@dataclass(frozen=True)
class Rules:
    """One category's rules, compiled: those of the Arabic list are tried only on a
    message with Arabic letters (they are written in Arabic script), the others on every
    message."""

    everywhere: tuple[re.Pattern[str], ...] = ()
    arabic: tuple[re.Pattern[str], ...] = ()

    def found(self, read: tuple[str, ...], arabic: bool) -> bool:
        """Whether a rule matches in one of the windows of the message."""
        return any(p.search(w) for p in self.everywhere for w in read) or (
            arabic and any(p.search(w) for p in self.arabic for w in read)
        )


def _compile(per_language: dict[str, Any]) -> Rules:
    latin = {lang: rules for lang, rules in per_language.items() if lang != "ar"}
    return Rules(_patterns(latin), _patterns({"ar": per_language.get("ar")}))


def _patterns(per_language: dict[str, Any]) -> tuple[re.Pattern[str], ...]:
    """Rules as at most two patterns, searched in turn: the rules that start at a word
    boundary share one leading `\\b`, the others (unanchored stems such as "suicid", and
    Arabic, whose prefixes attach to the word) are alternated as written. The same
    matches as one alternation of every rule, at about a third of the cost: the engine
    tries the bounded rules only where a word starts."""
    patterns = [fold_pattern(str(p)) for lang in sorted(per_language) for p in per_language[lang] or ()]
    bounded = [p[len(_BOUNDARY) :] for p in patterns if _starts_at_boundary(p)]
    others = [p for p in patterns if not _starts_at_boundary(p)]
    compiled = []
    if bounded:
        compiled.append(re.compile(_BOUNDARY + "(?:" + "|".join(f"(?:{p})" for p in bounded) + ")"))
    if others:
        compiled.append(re.compile("|".join(f"(?:{p})" for p in others)))
    return tuple(compiled)


def _starts_at_boundary(pattern: str) -> bool:
    """Whether every match of the rule starts at `\\b`: it begins with one and has no `|`
    outside brackets ("\\bfoo|bar" does not)."""
    if not pattern.startswith(_BOUNDARY):
        return False
    depth, i = 0, 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return False
        i += 1
    return True


@dataclass(frozen=True)
class Verdict:
    """`kind` is "emergency", "handoff" or "" (nothing for a person); `category` says
    which emergency ("suicide", "medical", "violence")."""

    kind: str
    category: str = ""


# The danger model's categories, as the emergency reply names them: suicide adds 9-8-8;
# every other danger is 911's (an overdose or a fire needs an ambulance or firefighters,
# confinement and a child in danger the police).
MODEL_CATEGORIES = {
    "suicide": "suicide",
    "overdose": "medical",
    "medical": "medical",
    "fire": "medical",
    "violence": "violence",
    "confinement": "violence",
    "child": "violence",
}


# The longest message whose rule alarm the model may soften (it reads it whole).
SOFTEN_WITHIN = 600


def _threshold(model: TextClassifier, name: str, language: str) -> float:
    """The language's own threshold, else the most careful one."""
    thresholds = model.model.thresholds
    return thresholds.get(f"{name}.{language}", thresholds[name])


@dataclass(frozen=True)
class Models:
    """The learned floor-raisers: which danger a message tells, and whether it is a
    personal case (see `bot.understanding.training`); either may be absent."""

    danger: TextClassifier | None = None
    personal: TextClassifier | None = None
    neighbours: Neighbours | None = None
    personal_neighbours: Neighbours | None = None


@dataclass(frozen=True)
class Triage:
    emergency: tuple[tuple[str, Rules], ...]
    personal: Rules
    case: Rules
    ask: Rules
    # Emergency categories that a message placing the danger in another country or
    # before coming here does not raise, unless it also says the danger is here or now.
    placed: frozenset[str] = frozenset()
    elsewhere: Rules = Rules()
    here_and_now: Rules = Rules()
    models: Models = Models()

    @classmethod
    def from_rules(cls, rules: dict[str, Any], models: Models = Models()) -> Triage:
        emergency = rules.get("emergency") or {}
        legal = rules.get("legal") or {}
        elsewhere = rules.get("elsewhere") or {}
        # Suicide first: its reply carries the 9-8-8 line as well as 911.
        order = sorted(emergency, key=lambda name: (name != "suicide", name))
        return cls(
            emergency=tuple((name, _compile(emergency[name])) for name in order),
            personal=_compile(legal.get("personal") or {}),
            case=_compile(legal.get("case") or {}),
            ask=_compile(legal.get("ask") or {}),
            placed=frozenset(elsewhere.get("categories") or ()),
            elsewhere=_compile(elsewhere.get("markers") or {}),
            here_and_now=_compile(elsewhere.get("unless") or {}),
            models=models,
        )

    def assess(self, text: str, vectors: Sequence[npt.NDArray[np.float32]] = (), language: str = "") -> Verdict:
        """The rules first: a rule's match is an emergency (or a handoff). Then, given the
        vectors of the message (its beginning, and its end when it is long), the models
        add recall: a danger they are sure of is an emergency (before any handoff), one
        they find possible is `possible` (the answer, with what to do if in danger
        first), a personal case they are sure of is a handoff."""
        folded = fold(text)
        read = windows(folded)
        arabic = has_arabic(folded)
        verdict = self._by_rules(read, arabic)
        danger = self.models.danger
        if not vectors:
            return verdict
        if verdict.kind == "emergency":
            # The model may soften a rule's alarm, never silence it, never suicide's, and
            # only on a message short enough for it to read whole: where it finds less danger
            # than its own recall-first floor (`possible`), the person gets the answer with
            # what to do if in danger first ("my boss will kill me if I am late, where do I
            # get a SIN?").
            if (
                verdict.category != "suicide"
                and len(text) <= SOFTEN_WITHIN
                and danger is not None
                and self._risk(danger, text, vectors)[0] < _threshold(danger, "possible", language)
            ):
                return Verdict("possible", verdict.category)
            return verdict
        handoff = verdict.kind == "handoff"
        verdict = Verdict("")
        if danger is not None:
            # Before any handoff: a danger outranks a personal case ("I can't breathe, my
            # inhaler ran out" holds a rule's words of a personal case too).
            risk, named = self._risk(danger, text, vectors)
            category = MODEL_CATEGORIES.get(named, "medical")
            placed = category in self.placed and self._elsewhere(read, arabic)
            agreed = self.models.neighbours is None or any(self.models.neighbours.agree(v) for v in vectors)
            if risk >= _threshold(danger, "emergency", language) and not placed and agreed:
                return Verdict("emergency", category)
            if risk >= _threshold(danger, "possible", language) and not placed:
                verdict = Verdict("possible", category)
        personal = self.models.personal
        if personal is None:
            return Verdict("handoff") if handoff else verdict
        score = personal.scores(text, vectors[0])["personal"]
        neighbours = self.models.personal_neighbours
        near_a_case = neighbours.agree(vectors[0]) if neighbours is not None else None
        # The rules' words of a personal case ("my", "claim", "what do I do") in a question
        # the personal model finds clearly general ("my cousin says the border closed in
        # 2020, what did the minister say?"), below `keep` (see `bot.understanding.training`)
        # and with no personal case among its nearest examples, are answered; every answer
        # ends by offering a lawyer or a volunteer for the person's own situation.
        keep = personal.model.thresholds.get("keep")
        if handoff and (keep is None or score >= keep or near_a_case is True):
            return Verdict("handoff")
        if score >= personal.model.thresholds["personal"] and near_a_case is not False:
            return Verdict("handoff")
        return verdict

    def rules_say(self, text: str) -> Verdict:
        """What the rules alone say of a message (the models' training asks it)."""
        folded = fold(text)
        return self._by_rules(windows(folded), has_arabic(folded))

    @staticmethod
    def _risk(danger: TextClassifier, text: str, vectors: Sequence[npt.NDArray[np.float32]]) -> tuple[float, str]:
        """How likely the message tells a danger, and which one most likely: the most
        alarming of its parts (a long message's danger may be at its end)."""
        best, named = 0.0, "medical"
        for scores in danger.scores_each(text, vectors):
            risk = 1.0 - scores.get("none", 0.0)
            if risk >= best:
                best, named = risk, max((c for c in scores if c != "none"), key=lambda c: scores[c])
        return best, named

    def _by_rules(self, read: tuple[str, ...], arabic: bool) -> Verdict:
        """What the rules alone say of the message's windows."""
        told = False  # what was done to the person elsewhere: the matter of an asylum claim
        for name, rules in self.emergency:
            if rules.found(read, arabic):
                if name in self.placed and self._elsewhere(read, arabic):
                    told = True
                    continue
                return Verdict("emergency", name)
        if (
            self.personal.found(read, arabic)
            and self.ask.found(read, arabic)
            and (told or self.case.found(read, arabic))
        ):
            return Verdict("handoff")
        return Verdict("")

    def _elsewhere(self, read: tuple[str, ...], arabic: bool) -> bool:
        """The message places what happened in another country or before coming here
        ("in my country", "if I am sent back"), and says nothing of here or now."""
        return self.elsewhere.found(read, arabic) and not self.here_and_now.found(read, arabic)
