"""`kb train` on a small knowledge base: the models are fitted, written as data with their
thresholds and report, and the bot built on them uses them."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.app import build_bot
from bot.core import Incoming
from bot.settings import Settings
from bot.understanding.classifier import read_examples
from bot.understanding.linear import LinearModel
from bot.understanding.training import _linear, _threshold_for_recall, train

ROOT = Path(__file__).resolve().parent.parent


def _every(path: Path, n: int, keep: str) -> None:
    """Keep one line in n of the examples (all of them readable, labels balanced enough)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    examples = [line for line in lines if line.startswith("- {")]
    path.write_text("\n".join(examples[::n]) + "\n", encoding="utf-8")
    assert any(keep in line for line in examples[::n])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("kb")
    shutil.copytree(ROOT / "knowledge", root / "knowledge")
    shutil.copytree(ROOT / "seeds", root / "seeds")
    knowledge = root / "knowledge"
    _every(knowledge / "classifiers" / "danger.yaml", 6, "label: suicide")
    _every(knowledge / "classifiers" / "personal.yaml", 4, "label: personal")
    asked = yaml.safe_load((knowledge / "asked_as.yaml").read_text(encoding="utf-8"))
    (knowledge / "asked_as.yaml").write_text(
        yaml.safe_dump(dict(list(asked.items())[:40]), allow_unicode=True), encoding="utf-8"
    )
    shutil.rmtree(knowledge / "models")
    out = io.StringIO()
    assert train(Settings(knowledge_dir=knowledge), out) == 0
    return knowledge, out.getvalue()


def test_training_writes_three_models_with_thresholds_and_a_report(trained: tuple[Path, str]) -> None:
    knowledge, printed = trained
    for name in ("danger", "personal", "decision"):
        raw = json.loads((knowledge / "models" / f"{name}.json").read_text(encoding="utf-8"))
        assert raw["report"] and raw["thresholds"] and len(raw["weights"][0]) == len(raw["features"])
    danger = LinearModel.read(knowledge / "models" / "danger.json")
    assert danger is not None
    for lang in ("en", "fr", "es", "ar"):
        assert 0 < danger.thresholds[f"possible.{lang}"] <= danger.thresholds[f"emergency.{lang}"] < 1
        assert danger.report["cross_validated_at_emergency"][lang]["recall"] >= 0.98
    assert "recall" in printed and "false handoffs" in printed and "answer at" in printed


def test_the_bot_built_on_the_trained_models_uses_them(trained: tuple[Path, str]) -> None:
    knowledge, _ = trained
    bot = build_bot(Settings(knowledge_dir=knowledge))
    assert bot.triage.models.danger is not None and bot.triage.models.neighbours is not None
    reply = bot.handle(Incoming("he is hitting me with a belt right now and i locked myself in the bathroom"))
    assert reply.kind == "emergency"
    assert bot.handle(Incoming("how long is the gaza visa valid")).kind != "emergency"


def test_thresholds_keep_the_recall_asked_for_in_every_group() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.05, 0.3])
    positive = np.array([True, True, True, True, False, False, False, True])
    groups = ["a", "a", "a", "b", "a", "b", "b", "b"]
    t = _threshold_for_recall(scores, positive, groups, 1.0)
    assert all(scores[i] >= t for i in range(len(scores)) if positive[i])
    assert _threshold_for_recall(scores, positive, groups, 0.5) > t


class _Fitted:
    classes_ = np.array(["answer", "decline"])
    coef_ = np.array([[2.0, -1.0]])
    intercept_ = np.array([0.5])


def test_a_binary_model_states_the_odds_of_its_positive_class() -> None:
    # scikit-learn's row is the odds of the second class ("decline"); the model must say
    # the odds of "answer": the same weights, negated.
    model = _linear(_Fitted(), ("x", "y"), {}, {}, "answer")
    assert model.classes == ("answer",)
    assert model.scores(np.array([1.0, 0.0]))[0] == pytest.approx(1 / (1 + np.exp(2.5)))


def test_the_shipped_examples_are_labelled_with_known_labels() -> None:
    danger = read_examples(ROOT / "knowledge" / "classifiers" / "danger.yaml")
    labels = {"suicide", "overdose", "medical", "violence", "confinement", "child", "fire", "none"}
    assert {e.label for e in danger} == labels and {e.language for e in danger} == {"en", "fr", "es", "ar"}
    personal = read_examples(ROOT / "knowledge" / "classifiers" / "personal.yaml")
    assert {e.label for e in personal} == {"personal", "general"}
    assert len(danger) >= 4000 and len(personal) >= 1000
