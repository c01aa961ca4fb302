"""The shared realistic question set (as people type), end to end through `ask --jsonl`,
as a regression gate; and the median length of an answer on it.

The issue's targets are hit@3 >= 0.90 and reply language >= 0.99 in every language,
hit@1 >= 0.80, no_answer >= 0.85, at most one false handoff, median answer <= 700
characters. They are not all reached yet; the figures reached today are the floor here,
so that no change makes them worse (measured: hit@3 0.81 ar, 0.81 en, 0.78 es, 0.75 fr;
hit@1 0.68; handoff 0.93; no_answer 0.75; 3 false handoffs, where the rules alone made 6;
before the models: hit@3 0.49, hit@1 0.43, emergency 0.80). The floors keep about one
question of margin.
Tuning to these questions buys nothing: a different set of the same kinds judges the bot.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
REALISTIC = EVAL / "realistic.jsonl"

FLOORS = {"hit3": 0.62, "lang": 0.95, "emergency": 1.00}
OVERALL = {"hit1": 0.60, "hit3": 0.70, "no_answer": 0.70, "handoff": 0.89}
FALSE_HANDOFFS = 3
MEDIAN_ANSWER = 900


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not REALISTIC.exists():
        if os.environ.get("CI"):
            pytest.fail("../shared/eval is missing on CI")
        pytest.skip("../shared/eval is not beside this checkout")
    out = tmp_path_factory.mktemp("eval") / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(EVAL / "evaluate.py"),
            str(REALISTIC),
            "--cmd",
            f"{sys.executable} -m bot ask --jsonl",
            "--json",
            str(out),
            "--timeout",
            "300",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    data["report"] = done.stdout
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize(("metric", "minimum"), sorted(FLOORS.items()))
def test_each_language_holds_its_floor(run: dict[str, Any], metric: str, minimum: float) -> None:
    for lang, values in run["per_language"].items():
        assert values.get(metric) is not None and values[metric] >= minimum, f"{metric}[{lang}]\n{run['report']}"


@pytest.mark.parametrize(("metric", "minimum"), sorted(OVERALL.items()))
def test_overall_figures_hold_their_floor(run: dict[str, Any], metric: str, minimum: float) -> None:
    assert run["totals"][metric] >= minimum, run["report"]


def test_false_handoffs_do_not_grow(run: dict[str, Any]) -> None:
    assert run["false_handoffs"] <= FALSE_HANDOFFS, run["report"]


def test_the_median_answer_fits_a_phone_screen_or_two() -> None:
    if not REALISTIC.exists():
        pytest.skip("../shared/eval is not beside this checkout")
    questions = [json.loads(line) for line in REALISTIC.read_text(encoding="utf-8").splitlines()]
    given = "\n".join(json.dumps({"id": q["id"], "text": q["q"]}) for q in questions) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        input=given,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    lengths = [len(r["text"]) for r in replies if r["kind"] == "answer"]
    assert lengths and statistics.median(lengths) <= MEDIAN_ANSWER, statistics.median(lengths)
    assert max(lengths) <= 4096  # one Telegram message
