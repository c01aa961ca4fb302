"""The shared question set, end to end through `ask --jsonl`, as a regression gate.

The issue's targets, enforced as they are: in every language hit@3 >= 0.90, reply
language >= 0.95, handoff >= 0.90, emergency = 1.00; no_answer >= 0.75 overall; no false
handoff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not (EVAL / "evaluate.py").exists():
        if os.environ.get("CI"):
            pytest.fail("../shared/eval is missing on CI")
        pytest.skip("../shared/eval is not beside this checkout")
    out = tmp_path_factory.mktemp("eval") / "figures.json"
    run = subprocess.run(
        [
            sys.executable,
            str(EVAL / "evaluate.py"),
            str(EVAL / "dev.jsonl"),
            "--cmd",
            f"{sys.executable} -m bot ask --jsonl",
            "--json",
            str(out),
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    data["report"] = run.stdout
    return data  # type: ignore[no-any-return]


HIT3_PER_LANGUAGE_FLOOR = 0.90


@pytest.mark.parametrize(
    ("metric", "minimum"),
    [("hit3", HIT3_PER_LANGUAGE_FLOOR), ("lang", 0.95), ("handoff", 0.90), ("emergency", 1.00)],
)
def test_each_language_meets_the_threshold(figures: dict[str, Any], metric: str, minimum: float) -> None:
    for lang, values in figures["per_language"].items():
        value = values.get(metric)
        assert value is not None and value >= minimum, f"{metric}[{lang}] = {value}\n{figures['report']}"


def test_hit_at_3_overall_meets_the_issue_target(figures: dict[str, Any]) -> None:
    assert figures["totals"]["hit3"] >= 0.90, figures["report"]


def test_off_topic_questions_are_declined_overall(figures: dict[str, Any]) -> None:
    assert figures["totals"]["no_answer"] >= 0.75, figures["report"]


def test_no_answerable_question_is_handed_off(figures: dict[str, Any]) -> None:
    assert figures["false_handoffs"] == 0, figures["report"]
