"""`kb calibrate`: set the no-answer thresholds from labelled questions, not by hand.

Owns reading `knowledge/calibration.yaml` (questions labelled answer / no_answer with
the source words the answer must quote), measuring how retrieval separates them, and
writing the chosen thresholds to `knowledge/retrieval.yaml` with the figures behind
them. The choice maximises answered-correctly plus twice correctly-declined, and breaks
ties towards declining: a wrong answer with a citation looks verified.

May import: the standard library, PyYAML, and the bot's knowledge, retrieval, language,
settings and app modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from bot.knowledge import load, normalize_quote
from bot.language import LanguageIdentifier
from bot.retrieval import Retriever
from bot.settings import Settings


@dataclass(frozen=True)
class Case:
    question: str
    language: str
    expect: str
    gold: tuple[str, ...]


@dataclass(frozen=True)
class Observation:
    case: Case
    own_coverage: float  # best passage's coverage in the question's language
    own_hit: bool  # a gold passage is among the top three there
    cross_coverage: float  # best English passage's coverage through the glossary
    cross_hit: bool
    # declined whatever the thresholds (the best passage shares too few of the words)
    own_blocked: bool = False
    cross_blocked: bool = False


def read_cases(path: Path) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Case(str(r["q"]), str(r["lang"]), str(r["expect"]), tuple(str(g) for g in r.get("gold") or ()))
        for r in raw
        if r.get("expect") in ("answer", "no_answer")
    ]


def observe(retriever: Retriever, cases: list[Case]) -> list[Observation]:
    """Run retrieval with every threshold at zero, so that the best candidates show."""
    out = []
    for case in cases:
        row: dict[str, Any] = {}
        for label, searched in (("own", case.language), ("cross", "en")):
            result = retriever.search_in(case.question, case.language, searched)
            hits = result.hits
            gold = [normalize_quote(g).lower() for g in case.gold]
            row[label] = (
                result.best.coverage if result.best else 0.0,
                any(any(g in normalize_quote(h.passage.quote).lower() for g in gold) for h in hits[:3]),
                result.best is not None and not hits,
            )
        own, cross = row["own"], row["cross"]
        out.append(Observation(case, own[0], own[1], cross[0], cross[1], own[2], cross[2]))
    return out


def outcome(obs: Observation, coverage: float, cross: float) -> bool:
    """Whether retrieval with these thresholds does what the label asks."""
    answers_own = obs.own_coverage >= coverage and not obs.own_blocked
    answers_cross = (
        not answers_own and obs.case.language != "en" and obs.cross_coverage >= cross and not obs.cross_blocked
    )
    if obs.case.expect == "no_answer":
        return not (answers_own or answers_cross)
    return (answers_own and obs.own_hit) or (answers_cross and obs.cross_hit)


# An off-topic question answered with a citation looks verified: declining it correctly
# counts this many times an answer given correctly.
DECLINE_WEIGHT = 2.0


def choose(observations: list[Observation]) -> tuple[float, float, float]:
    """(coverage, cross_coverage, accuracy) maximising weighted correct outcomes."""
    grid = [round(0.05 * i, 2) for i in range(4, 19)]
    weights = [DECLINE_WEIGHT if o.case.expect == "no_answer" else 1.0 for o in observations]
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for coverage in grid:
        for cross in grid:
            value = sum(w for o, w in zip(observations, weights, strict=True) if outcome(o, coverage, cross))
            # Ties go to the higher thresholds: decline rather than risk a wrong answer.
            if (value, coverage + cross, coverage) > (best[0], best[1] + best[2], best[1]):
                best = (value, coverage, cross)
    _, coverage, cross = best
    accuracy = sum(outcome(o, coverage, cross) for o in observations) / len(observations)
    return coverage, cross, accuracy


def calibrate(settings: Settings, out: TextIO) -> int:
    kb = load(settings.knowledge_dir)
    cases = read_cases(settings.knowledge_dir / "calibration.yaml")
    retriever = Retriever(kb, thresholds={"coverage": 0.0, "cross_coverage": 0.0})
    LanguageIdentifier()  # fail here, not later, if lingua is missing
    observations = observe(retriever, cases)
    coverage, cross, accuracy = choose(observations)
    answers = [o for o in observations if o.case.expect == "answer"]
    declines = [o for o in observations if o.case.expect == "no_answer"]
    answered = sum(outcome(o, coverage, cross) for o in answers)
    declined = sum(outcome(o, coverage, cross) for o in declines)
    figures = {
        "questions": len(observations),
        "accuracy": round(accuracy, 3),
        "answer_questions_answered_with_a_gold_passage": f"{answered}/{len(answers)}",
        "off_topic_questions_declined": f"{declined}/{len(declines)}",
    }
    document = {
        "thresholds": {"coverage": coverage, "cross_coverage": cross},
        "calibrated_on": "knowledge/calibration.yaml",
        "figures": figures,
    }
    header = (
        "# Written by `python -m bot kb calibrate` from knowledge/calibration.yaml. Do not edit by\n"
        "# hand: add labelled questions to calibration.yaml and calibrate again.\n"
    )
    path = settings.knowledge_dir / "retrieval.yaml"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for key, value in figures.items():
        out.write(f"{key}: {value}\n")
    out.write(f"thresholds: coverage={coverage} cross_coverage={cross} -> {path}\n")
    for o in observations:
        if not outcome(o, coverage, cross):
            out.write(
                f"  miss [{o.case.language} {o.case.expect}] own={o.own_coverage:.2f}"
                f"{'+' if o.own_hit else '-'} cross={o.cross_coverage:.2f}{'+' if o.cross_hit else '-'} "
                f"{o.case.question}\n"
            )
    return 0
