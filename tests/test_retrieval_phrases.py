"""Multiword names: where a glossary name of several words occurs whole, its head word is
bound to it, so a verb that shares the head's stem ("a demandé" and "demande d'asile",
"solicitó" and "solicitantes de asilo") is a word of its own in questions and passages."""

from __future__ import annotations

import pytest

from bot.core import Bot
from bot.normalize import Analyzer


@pytest.mark.parametrize(
    ("language", "verb", "name", "modifier"),
    [
        ("fr", "demandé", "les demandes d'asile", "asile"),
        ("es", "solicitó", "los solicitantes de asilo", "asilo"),
        ("en", "claimed", "asylum claims", "asylum"),
        ("ar", "طلب", "طلب لجوء", "لجوء"),
    ],
)
def test_a_verb_does_not_meet_the_head_of_a_name_but_the_other_words_of_the_name_still_count(
    bot: Bot, language: str, verb: str, name: str, modifier: str
) -> None:
    analyzer = bot.retriever.analyzer(language)
    assert set(analyzer.stems(verb)) <= set(analyzer.stems(name)), "the example must share a stem"
    assert not set(analyzer.terms(verb)) & set(analyzer.terms(name))
    assert set(analyzer.terms(modifier)) <= set(analyzer.terms(name))


@pytest.mark.parametrize(
    ("language", "word", "name"),
    [("en", "claimants", "refugee claimants"), ("fr", "travailleurs", "travailleurs étrangers temporaires")],
)
def test_a_head_the_glossary_lists_on_its_own_keeps_its_meaning_inside_a_name(
    bot: Bot, language: str, word: str, name: str
) -> None:
    analyzer = bot.retriever.analyzer(language)
    assert set(analyzer.terms(word)) <= set(analyzer.terms(name))


def test_a_name_that_comes_down_to_one_word_does_not_list_that_word_on_its_own(bot: Bot) -> None:
    stopwords = bot.kb.stopwords["fr"]
    listed = Analyzer("fr", stopwords, ("demande d'asile", "demande"))
    phrase = Analyzer("fr", stopwords, ("demande d'asile", "qui peut demander"))
    assert listed.terms("demandé")[0] in listed.terms("demandes d'asile")
    assert phrase.terms("demandé")[0] not in phrase.terms("demandes d'asile")


def test_the_longest_name_found_is_the_one_a_head_is_bound_to(bot: Bot) -> None:
    fr = Analyzer("fr", bot.kb.stopwords["fr"], ("permis de travail", "permis de travail ouvert"))
    longest = fr.terms("un permis de travail ouvert")
    assert longest != fr.terms("un permis de travail") + fr.terms("ouvert")
    assert len(longest) == len(fr.stems("un permis de travail ouvert"))


def test_without_names_the_terms_are_the_stems(bot: Bot) -> None:
    fr = Analyzer("fr", bot.kb.stopwords["fr"])
    text = "Les demandeurs d'asile ont demandé un permis de travail."
    assert fr.terms(text) == fr.stems(text)


@pytest.mark.parametrize(
    "question",
    ["Qu'a demandé le premier ministre du Québec à Ottawa ?", "Qu'est-ce que Legault a demandé dans sa lettre ?"],
)
def test_a_question_about_what_was_asked_is_answered_first_by_a_passage_where_something_was_asked(
    bot: Bot, question: str
) -> None:
    # Most French passages say "demandeurs d'asile" or "demandes d'asile": without the
    # names bound, "demandé" is a common word that ranks nothing.
    fr = bot.retriever.analyzer("fr")
    result = bot.retriever.search(question, "fr")
    assert result.answered
    assert fr.terms("demandé")[0] in fr.terms(result.hits[0].passage.texts["fr"])


def test_a_question_naming_asylum_claims_still_meets_the_passages_about_asylum_seekers(bot: Bot) -> None:
    fr = bot.retriever.analyzer("fr")
    result = bot.retriever.search("Combien de demandes d'asile le Québec a-t-il reçues ?", "fr")
    assert result.answered
    assert all(fr.terms("asile")[0] in fr.terms(h.passage.texts["fr"]) for h in result.hits)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How do I open a bank account?", "no_answer"),
        ("Comment ouvrir un compte bancaire ?", "no_answer"),
        ("Is there a job bank for asylum seekers?", "answer"),
        ("¿Hay una bolsa de empleo para solicitantes de asilo?", "answer"),
    ],
)
def test_a_bank_account_is_not_the_jobs_bank(bot: Bot, question: str, kind: str) -> None:
    from bot.core import Incoming

    reply = bot.handle(Incoming(question))
    assert reply.kind == kind, [c.passage_id for c in reply.citations]


@pytest.mark.parametrize(
    ("language", "question", "entry"),
    [
        ("en", "what about people without status", "undocumented"),
        ("es", "y las personas sin papeles", "undocumented"),
        ("en", "who can apply", "eligibility"),
        ("es", "hasta cuándo", "end"),
        ("ar", "حتى متى", "end"),
        ("en", "news from the U.S.", "united-states"),
    ],
)
def test_a_name_carried_by_its_stop_words_is_found_as_written(
    bot: Bot, language: str, question: str, entry: str
) -> None:
    from bot.normalize import fold

    typed = bot.retriever._indexes[language].typed
    assert entry in typed.named(fold(question))


@pytest.mark.parametrize(
    ("language", "text", "entry"),
    [
        ("en", "Their status was reviewed last year.", "undocumented"),
        ("en", "Anyone may apply online.", "eligibility"),
        ("es", "Su estatus cambió.", "undocumented"),
    ],
)
def test_the_one_word_left_of_such_a_name_does_not_name_it(bot: Bot, language: str, text: str, entry: str) -> None:
    from bot.normalize import fold
    from bot.retrieval import _named

    index = bot.retriever._indexes[language]
    stems = index.analyzer.stems(text)
    named = _named(index.phrase_keys, frozenset(index.analyzer.bind(stems)), frozenset(stems))
    assert entry not in named | index.typed.named(fold(text))


@pytest.mark.parametrize(
    "question",
    [
        "How do I get a social insurance number?",
        "How long does it take to get a driver's licence?",
        "¿Cuánto tiempo tarda la licencia de conducir?",
        "Quel est le numéro de ma carte santé ?",
    ],
)
def test_words_that_only_say_a_figure_is_wanted_do_not_make_a_passage_an_answer(bot: Bot, question: str) -> None:
    # "number", "how long": the kind of answer asked for, not what it is about. A passage
    # that gives "a large number" of something else shares nothing with the question.
    from bot.core import Incoming

    reply = bot.handle(Incoming(question))
    assert reply.kind == "no_answer", [c.passage_id for c in reply.citations]


@pytest.mark.parametrize(
    "question",
    [
        "How many asylum claims did Mexican nationals make in Quebec?",
        "Combien de demandes d'asile les Mexicains ont-ils faites au Québec ?",
        "كم عدد طلبات اللجوء من المكسيكيين في كيبيك؟",
    ],
)
def test_a_figure_question_is_still_answered_by_what_it_is_about(bot: Bot, question: str) -> None:
    from bot.core import Incoming

    reply = bot.handle(Incoming(question))
    assert reply.kind == "answer"
    assert "mexic" in reply.citations[0].source_text.casefold()
