"""`kb train`: fit the learned models from the labelled data in `knowledge/`, and report.

Owns fitting, choosing thresholds on cross-validated scores, and writing
`knowledge/models/`:
- `danger.json`, from `knowledge/classifiers/danger.yaml` (and, as ordinary messages,
  the taught and calibration questions): which emergency a message
  tells, over the encoder's vector and character n-grams. Its thresholds are chosen for
  recall first: `emergency` keeps the cross-validated recall of dangers at `RECALL` or
  more in every language, `possible` at `POSSIBLE_RECALL`;
- `personal.json`, from `knowledge/classifiers/personal.yaml` (and the same ordinary
  questions, as general ones): a personal legal case
  for a person, or a general question; its threshold keeps false handoffs of general
  questions at `FALSE_HANDOFFS` or fewer, and its `keep` threshold, below which it
  overrules the rules' handoff, is half the lowest score of a personal case the rules
  catch;
- `decision.json`, from `knowledge/calibration.yaml` and `calibration_messy.yaml`:
  whether the best passages answer; a wrong citation costs as much as a missed answer
  (`DECLINE_WEIGHT`).
The vectors of the training texts are kept in `knowledge/vectors.npz`, so that training
again encodes only what is new.

May import: the standard library, NumPy, PyYAML, scikit-learn (fitting only: serving
never loads it), and the bot's own modules.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from bot.calibration import Case, read_cases
from bot.core import Bot
from bot.knowledge import normalize_quote
from bot.settings import Settings
from bot.understanding import ngrams
from bot.understanding.classifier import EMBEDDING, GRAM, Example, read_examples
from bot.understanding.encoder import ARTIFACT, QUESTION
from bot.understanding.linear import LinearModel
from bot.understanding.ranking import FEATURES

RECALL = 0.98
POSSIBLE_RECALL = 0.995
FALSE_HANDOFFS = 0.002
DECLINE_WEIGHT = 1.5
GRAMS = 8000
NEAR_COPY = 0.5
KEEP_MARGIN = 0.5
# An answer is right when one of its first passages quotes the gold: the first two, so
# that the decision does not learn to answer where the right passage comes only third.
GOLD_WITHIN = 2
_WORD = re.compile(r"\w+")
NONE = "none"
FOLDS = 5


@dataclass
class _Scaled:
    """A logistic regression fitted on standardised features, its weights folded back to
    the features as they are (what `LinearModel` multiplies at run time)."""

    classes_: Any
    coef_: npt.NDArray[np.float64]
    intercept_: npt.NDArray[np.float64]
    inner: Any
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    def predict_proba(self, x: npt.NDArray[np.float64]) -> Any:
        return self.inner.predict_proba((x - self.mean) / self.scale)


def _fit(x: npt.NDArray[np.float64], y: Sequence[str], c: float) -> _Scaled:
    """Standardised where features have scales of their own (the decision's); the
    classifiers' features (a unit vector, unit n-gram counts) are fitted as they are:
    standardising would make the rarest n-grams weigh the most."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    if x.shape[1] <= len(FEATURES):
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
    else:
        mean, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    # No class weights: the thresholds, chosen on cross-validated scores, decide how much
    # recall costs; balanced weights made every short unfamiliar text look like a danger.
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, list(y))
    coef = np.asarray(model.coef_) / scale
    intercept = np.asarray(model.intercept_) - coef @ mean
    return _Scaled(model.classes_, coef, intercept, model, mean, scale)


def _cross_validated(
    x: npt.NDArray[np.float64], y: Sequence[str], c: float
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Each example's class probabilities from a model that never saw it."""
    from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

    labels = sorted(set(y))
    out = np.zeros((len(y), len(labels)))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=7)
    ys = np.array(y)
    for train, test in folds.split(x, ys):
        model = _fit(x[train], ys[train].tolist(), c)
        probabilities = model.predict_proba(x[test])
        for j, cls in enumerate(model.classes_):
            out[test, labels.index(str(cls))] = probabilities[:, j]
    return out, labels


def _features(bot: Bot, texts: Sequence[str], grams: tuple[str, ...]) -> npt.NDArray[np.float64]:
    vectors = bot.vectors.of(list(texts), QUESTION).astype(np.float64)
    index = {g: i for i, g in enumerate(grams)}
    return np.hstack([vectors, ngrams.matrix(texts, index)])


def _names(dim: int, grams: tuple[str, ...]) -> tuple[str, ...]:
    return (*(f"{EMBEDDING}{i}" for i in range(dim)), *(f"{GRAM}{g}" for g in grams))


def _linear(
    model: Any, features: tuple[str, ...], thresholds: dict[str, float], report: dict[str, Any], positive: str = ""
) -> LinearModel:
    classes = tuple(str(c) for c in model.classes_)
    weights = np.asarray(model.coef_, dtype=np.float64)
    intercepts = np.asarray(model.intercept_, dtype=np.float64)
    if len(classes) == 2:
        # scikit-learn keeps one row for two classes, the odds of the second (in sorted
        # order); the model states the odds of `positive`.
        if classes[0] == positive:
            weights, intercepts = -weights, -intercepts
        return LinearModel((positive,), features, weights, intercepts, thresholds, report)
    return LinearModel(classes, features, weights, intercepts, thresholds, report)


def _threshold_for_recall(
    scores: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_], groups: Sequence[str], recall: float
) -> float:
    """The highest threshold at which every group keeps `recall` of its positives."""
    best = 1.0
    for group in sorted(set(groups)):
        mask = positive & (np.array(groups) == group)
        values = np.sort(scores[mask])
        if len(values):
            # at most this many may fall below the threshold
            allowed = int(np.floor((1.0 - recall) * len(values)))
            best = min(best, float(values[allowed]) - 1e-9)
    return max(best, 0.0)


def _rates(
    scores: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_], groups: Sequence[str], threshold: float
) -> dict[str, dict[str, float]]:
    out = {}
    g = np.array(groups)
    for group in sorted(set(groups)):
        pos = positive & (g == group)
        neg = ~positive & (g == group)
        out[group] = {
            "recall": round(float((scores[pos] >= threshold).mean()) if pos.any() else 1.0, 3),
            "false_alarms": round(float((scores[neg] >= threshold).mean()) if neg.any() else 0.0, 3),
            "examples": int((g == group).sum()),
        }
    return out


def ordinary_questions(bot: Bot, root: Path, label: str) -> list[Example]:
    """The questions maintainers wrote as ordinary ones, labelled `label`: the taught
    questions of passages, and the calibration questions. Neither danger nor a personal
    case, in every style people write: the classifiers learn what ordinary looks like."""
    found = [
        Example(q, lang, label)
        for per_lang in bot.kb.asked_as.values()
        for lang, questions in per_lang.items()
        for q in questions
    ]
    for name in ("calibration.yaml", "calibration_messy.yaml"):
        found.extend(Example(c.question, c.language, label) for c in read_cases(root / name))
    return found


@dataclass(frozen=True)
class _Labelled:
    """A classifier's examples as features, with their cross-validated probabilities."""

    examples: list[Example]
    grams: tuple[str, ...]
    x: npt.NDArray[np.float64]
    y: list[str]
    langs: list[str]
    probabilities: npt.NDArray[np.float64]
    labels: list[str]


def _labelled(bot: Bot, root: Path, name: str, ordinary: str, c: float) -> _Labelled:
    examples = read_examples(root / "classifiers" / f"{name}.yaml") + ordinary_questions(bot, root, ordinary)
    texts = [e.text for e in examples]
    grams = ngrams.vocabulary(texts, GRAMS)
    x = _features(bot, texts, grams)
    y = [e.label for e in examples]
    probabilities, labels = _cross_validated(x, y, c)
    return _Labelled(examples, grams, x, y, [e.language for e in examples], probabilities, labels)


def train_danger(bot: Bot, root: Path, out: TextIO) -> LinearModel:
    c = 4.0
    data = _labelled(bot, root, "danger", NONE, c)
    examples, grams, x, y, langs = data.examples, data.grams, data.x, data.y, data.langs
    danger = 1.0 - data.probabilities[:, data.labels.index(NONE)]
    positive = np.array([label != NONE for label in y])
    # One pair of thresholds per language (the reply's language says which): a language
    # whose examples are harder must not lower the bar, and raise false alarms, for all.
    thresholds: dict[str, float] = {}
    at_emergency: dict[str, dict[str, float]] = {}
    at_possible: dict[str, dict[str, float]] = {}
    mask = np.array(langs)
    for lang in sorted(set(langs)):
        mine = mask == lang
        emergency = _threshold_for_recall(danger[mine], positive[mine], [lang] * int(mine.sum()), RECALL)
        possible = min(
            emergency, _threshold_for_recall(danger[mine], positive[mine], [lang] * int(mine.sum()), POSSIBLE_RECALL)
        )
        thresholds[f"emergency.{lang}"] = emergency
        thresholds[f"possible.{lang}"] = possible
        at_emergency |= _rates(danger[mine], positive[mine], [lang] * int(mine.sum()), emergency)
        at_possible |= _rates(danger[mine], positive[mine], [lang] * int(mine.sum()), possible)
    # For a language without examples of its own: the most careful of them.
    thresholds["emergency"] = min(v for k, v in thresholds.items() if k.startswith("emergency."))
    thresholds["possible"] = min(v for k, v in thresholds.items() if k.startswith("possible."))
    report = {
        "examples": dict(Counter(f"{e.language}/{e.label}" for e in examples)),
        "cross_validated_at_emergency": at_emergency,
        "cross_validated_at_possible": at_possible,
    }
    model = _linear(_fit(x, y, c), _names(bot.vectors.encoder.dim, grams), thresholds, report)
    print(f"danger: {len(examples)} examples", file=out)
    for lang, rates in at_emergency.items():
        print(
            f"  {lang}: emergency at {thresholds['emergency.' + lang]:.3f}: recall {rates['recall']:.3f}, false alarms "
            f"{rates['false_alarms']:.3f}; possible at {thresholds['possible.' + lang]:.3f} (cross-validated)",
            file=out,
        )
    return model


def train_personal(bot: Bot, root: Path, out: TextIO) -> LinearModel:
    c = 2.0
    data = _labelled(bot, root, "personal", "general", c)
    examples, grams, x, y, langs = data.examples, data.grams, data.x, data.y, data.langs
    personal = data.probabilities[:, data.labels.index("personal")]
    general = np.array([label != "personal" for label in y])
    # Highest false-handoff rate allowed: the threshold above that share of general questions.
    threshold = 1.0 - _threshold_for_recall(1.0 - personal, general, langs, 1.0 - FALSE_HANDOFFS)
    # `keep`: below it, the model overrules the rules' handoff. Every personal case the
    # rules catch scores at least this much in cross-validation, in every language.
    by_rules = np.array([bot.triage.rules_say(e.text).kind == "handoff" for e in examples])
    # Half of that: new phrasings of a personal case score lower than the training's own
    # (an Arabic "will my asylum claim be accepted?" scored 0.19 where the lowest was 0.22).
    keep = KEEP_MARGIN * _threshold_for_recall(personal, by_rules & ~general, langs, 1.0)
    report: dict[str, Any] = {
        "examples": dict(Counter(f"{e.language}/{e.label}" for e in examples)),
        "cross_validated": _rates(personal, ~general, langs, threshold),
        "rules": {
            "handoffs": int((by_rules & ~general).sum()),
            "false_handoffs": int((by_rules & general).sum()),
            "false_handoffs_kept": int((by_rules & general & (personal >= keep)).sum()),
        },
    }
    model = _linear(
        _fit(x, y, c), _names(bot.vectors.encoder.dim, grams), {"personal": threshold, "keep": keep}, report, "personal"
    )
    print(f"personal: {len(examples)} examples, handoff at {threshold:.3f}, rules overruled below {keep:.3f}", file=out)
    rules = report["rules"]
    print(
        f"  rules: {rules['handoffs']} personal cases caught; of their {rules['false_handoffs']} false handoffs "
        f"{rules['false_handoffs_kept']} kept (cross-validated)",
        file=out,
    )
    for lang, rates in report["cross_validated"].items():
        print(
            f"  {lang}: handoffs {rates['recall']:.3f}, false handoffs {rates['false_alarms']:.3f} (cross-validated)",
            file=out,
        )
    return model


def _gold_hit(bot: Bot, order: Sequence[int], case: Case, depth: int) -> bool:
    golds = [normalize_quote(g).casefold() for g in case.gold]
    passages = bot.ranker.semantic.passages
    return any(g in normalize_quote(passages[i].quote).casefold() for i in order[:depth] for g in golds)


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.casefold()))


def _near_copies(bot: Bot, question: str) -> npt.NDArray[np.bool_]:
    """The taught questions that nearly copy `question` (most of their words are its
    words). A question people send is rarely one that was taught word for word: the
    decision learns from each calibration question as if its near copies had not been
    taught, or it would learn to trust a closeness that real questions do not reach."""
    words = _words(question)
    return np.array(
        [len(words & w) / max(1, len(words | w)) > NEAR_COPY for w in map(_words, bot.ranker.semantic.example_texts)],
        dtype=np.bool_,
    )


def train_decision(bot: Bot, root: Path, out: TextIO) -> LinearModel:
    # Triage answers the emergencies and personal cases before the ranker is asked: the
    # decision learns from the questions it will see.
    cases = [
        case
        for name in ("calibration.yaml", "calibration_messy.yaml")
        for case in read_cases(root / name)
        if case.expect in ("answer", "no_answer")
    ]
    rows, y, langs = [], [], []
    for case in cases:
        question = bot.vectors.of([case.question], QUESTION)[0]
        understood = bot.ranker.search(case.question, case.language, question, hide=_near_copies(bot, case.question))
        rows.append(understood.features)
        right = case.expect == "answer" and _gold_hit(bot, understood.candidates, case, GOLD_WITHIN)
        y.append("answer" if right else "decline")
        langs.append(case.language)
    x = np.array(rows)
    c = 1.0
    probabilities, labels = _cross_validated(x, y, c)
    p = probabilities[:, labels.index("answer")]
    good = np.array([label == "answer" for label in y])
    # The threshold that maximises correct answers plus weighted correct declines.
    candidates = np.unique(np.concatenate([p, [0.5]]))
    value = [float((good & (p >= t)).sum() + DECLINE_WEIGHT * (~good & (p < t)).sum()) for t in candidates]
    threshold = float(candidates[int(np.argmax(value))])
    report: dict[str, Any] = {
        "questions": dict(Counter(f"{c.language}/{c.expect}" for c in cases)),
        "answerable_with_a_right_passage": int(good.sum()),
        "cross_validated": _rates(p, good, langs, threshold),
    }
    model = _linear(_fit(x, y, c), FEATURES, {"answer": threshold}, report, "answer")
    print(f"decision: {len(cases)} questions, answer at {threshold:.3f}", file=out)
    for lang, rates in report["cross_validated"].items():
        print(
            f"  {lang}: right passage answered {rates['recall']:.3f}, wrong or no passage answered "
            f"{rates['false_alarms']:.3f} (cross-validated)",
            file=out,
        )
    return model


def keep_training_vectors(bot: Bot, root: Path) -> None:
    """Ask for the vectors of every training text, so that the artifact written next keeps them."""
    texts = [e.text for name in ("danger", "personal") for e in read_examples(root / "classifiers" / f"{name}.yaml")]
    texts += [c.question for name in ("calibration.yaml", "calibration_messy.yaml") for c in read_cases(root / name)]
    bot.vectors.of(texts, QUESTION)


NOTE = "Written by `python -m bot kb train` from the labelled data in knowledge/. Do not edit by hand."


def train(settings: Settings, out: TextIO) -> int:
    from bot.app import build_bot

    started = time.monotonic()
    bot = build_bot(settings)
    root = settings.knowledge_dir
    models = root / "models"
    train_danger(bot, root, out).write(models / "danger.json", NOTE)
    train_personal(bot, root, out).write(models / "personal.json", NOTE)
    train_decision(bot, root, out).write(models / "decision.json", NOTE)
    stored = bot.vectors.write(root / ARTIFACT)
    print(f"{stored} vectors kept in {ARTIFACT}; trained in {time.monotonic() - started:.0f} s", file=out)
    return 0
