"""The labelled data the bot learns from is written apart from the sets that measure it.

A taught question, a calibration question or a classifier example that nearly copies a
question of `../shared/eval` (or of the held-out safety set) would make those sets measure
memory, not understanding. "Nearly copies": most of its words are the question's words
(Jaccard similarity of the word sets above `NEAR`), whatever the order, case or
punctuation.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
HELD_OUT = ROOT / "tests" / "heldout" / "safety.jsonl"
KNOWLEDGE = ROOT / "knowledge"
NEAR = 0.6


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", text.lower()))


def near(a: frozenset[str], b: frozenset[str]) -> bool:
    return len(a & b) / max(1, len(a | b)) > NEAR


def _measured() -> list[str]:
    found = [json.loads(line)["text"] for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not EVAL.exists():
        if os.environ.get("CI"):
            pytest.fail("../shared/eval is missing on CI")
        return found
    for name in ("dev.jsonl", "realistic.jsonl"):
        found += [
            json.loads(line)["q"] for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return found


def _learned() -> dict[str, list[str]]:
    asked_as = yaml.load((KNOWLEDGE / "asked_as.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    texts = {"asked_as.yaml": [q for per_lang in asked_as.values() for qs in per_lang.values() for q in qs]}
    for name in ("calibration.yaml", "calibration_messy.yaml"):
        texts[name] = [
            case["q"] for case in yaml.load((KNOWLEDGE / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        ]
    for name in ("danger", "personal"):
        path = KNOWLEDGE / "classifiers" / f"{name}.yaml"
        texts[f"classifiers/{name}.yaml"] = [
            e["text"] for e in yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        ]
    meta = yaml.load((KNOWLEDGE / "meta.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    # The meta-phrases ("hi", "help", "talk to a volunteer") are short on purpose: a greeting
    # is a greeting. Only the longer ones could copy a question.
    texts["meta.yaml"] = [
        str(p)
        for name in ("greeting", "help", "volunteer")
        for ps in meta[name].values()
        for p in ps
        if len(str(p).split()) > 3
    ]
    return texts


def test_near_copies_are_recognised() -> None:
    assert near(
        _words("How many undocumented people are living in Canada?"),
        _words("how many undocumented people are in canada"),
    )
    assert not near(
        _words("how many undocumented people are in canada"), _words("can undocumented people see a doctor")
    )


def test_nothing_learned_nearly_copies_a_measured_question() -> None:
    measured = [(q, _words(q)) for q in _measured()]
    # Which measured questions hold each word: only those that share a word are compared.
    holding: dict[str, list[int]] = {}
    for i, (_, words) in enumerate(measured):
        for word in words:
            holding.setdefault(word, []).append(i)
    copies = []
    for name, texts in _learned().items():
        for text in texts:
            words = _words(text)
            shared = {i for word in words for i in holding.get(word, ())}
            copies += [f"{name}: {text!r} ~ {measured[i][0]!r}" for i in sorted(shared) if near(words, measured[i][1])]
    assert not copies, "\n".join(copies[:20])
