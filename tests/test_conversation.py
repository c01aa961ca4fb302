"""The core, as a conversation: a message in, a reply out, on the real knowledge base."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core import Reply

Ask = Callable[..., Reply]


def quotes(reply: Reply) -> str:
    return " ".join(c.source_text for c in reply.citations)


def test_english_question_about_gaza_eligibility_cites_the_ircc_criteria(ask: Ask) -> None:
    reply = ask("Which relatives of Canadians in Gaza are eligible for the special measures?")
    assert reply.kind == "answer"
    assert reply.language == "en"
    assert "spouse, common-law partner, child, grandchild" in quotes(reply)


def test_arabic_question_about_work_permits_cites_the_gaza_measures(ask: Ask) -> None:
    reply = ask("هل يمكن لأقارب الكنديين القادمين من غزة الحصول على تصريح عمل مفتوح؟")
    assert reply.kind == "answer"
    assert reply.language == "ar"
    assert "open work permit" in quotes(reply)
    assert "تصريح عمل" in reply.text


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        ("ليش الفيزا رجعت على المكسيكيين؟", "visa"),  # Levantine: why, visa (spoken word)
        ("عايز أعرف إيه هو برنامج غزة للعيلة", "special measures"),  # Egyptian: I want to know what ... family
        ("واش كاين شي برنامج ديال العيلة من غزة؟", "special measures"),  # Maghrebi: is there a program of ...
    ],
)
def test_arabic_written_as_it_is_spoken_is_answered_in_arabic(ask: Ask, question: str, quoted: str) -> None:
    # Spoken function words are stop words, and the everyday words for visa and family
    # are names of those concepts: otherwise each unknown word outweighs the question.
    reply = ask(question)
    assert (reply.kind, reply.language) == ("answer", "ar")
    assert quoted.casefold() in quotes(reply).casefold()


def test_french_question_about_trafficking_victims_gets_a_french_answer_with_citation(ask: Ask) -> None:
    reply = ask("Les victimes de traite de personnes peuvent-elles avoir un permis de séjour temporaire gratuit ?")
    assert reply.kind == "answer"
    assert reply.language == "fr"
    assert "Temporary Resident Permits" in quotes(reply)
    assert "Source" in reply.text and "information générale" in reply.text


def test_spanish_question_about_the_safe_third_country_agreement_is_answered_in_spanish(ask: Ask) -> None:
    reply = ask("¿Desde cuándo se aplica el Acuerdo de Tercer País Seguro a toda la frontera terrestre?")
    assert reply.kind == "answer"
    assert reply.language == "es"
    assert "March 25, 2023" in quotes(reply)


def test_every_answer_ends_with_the_general_information_reminder_in_the_users_language(ask: Ask) -> None:
    expected = {
        "en": "This is general information, not legal advice.",
        "fr": "Ceci est de l'information générale, pas un avis juridique.",
        "es": "Esta es información general, no asesoría legal.",
        "ar": "هذه معلومات عامة وليست استشارة قانونية.",
    }
    questions = {
        "en": "How many refugees are there in the world?",
        "fr": "Combien de réfugiés y a-t-il dans le monde ?",
        "es": "¿Cuántos refugiados hay en el mundo?",
        "ar": "كم عدد اللاجئين في العالم؟",
    }
    for lang, question in questions.items():
        reply = ask(question)
        assert reply.kind == "answer", (lang, reply.text)
        assert reply.sections[-1].startswith(expected[lang]), lang


def test_a_passage_whose_measure_has_ended_says_so_with_the_localized_date(ask: Ask) -> None:
    reply = ask("Quand les mesures spéciales pour Gaza expirent-elles ?")
    assert reply.kind == "answer"
    assert "Cette mesure a pris fin le 9 janvier 2025." in reply.text


def test_old_information_says_what_date_it_is_from(ask: Ask) -> None:
    reply = ask("¿Cuántos mexicanos viven en Estados Unidos?")
    assert reply.kind == "answer"
    assert "Esta información es del 28 de febrero de 2024" in reply.text


def test_citations_carry_title_publisher_and_a_date_formatted_for_the_locale(ask: Ask) -> None:
    reply = ask("Qu'a décidé la Commission de l'immigration et du statut de réfugié sur les demandes mexicaines ?")
    assert reply.kind == "answer"
    c = reply.citations[0]
    assert c.title and c.publisher and c.source_file.startswith("seeds/")
    assert f"[{c.number}] {c.title} — {c.publisher}, {c.date_text}" in reply.text
    assert c.date_text in ("7 février 2024", "28 février 2024", "25 janvier 2024")


def test_an_undated_source_is_cited_with_what_is_known_of_its_date(ask: Ask) -> None:
    reply = ask("What did the Migrant Rights Network say migrant student workers won in 2021?")
    assert reply.kind == "answer"
    mrn = [c for c in reply.citations if c.source_id == "mrn-migrants-day-2021"]
    assert mrn and mrn[0].date == "2021-12" and mrn[0].date_text == "December 2021"


def test_each_source_is_listed_once_however_many_of_its_passages_answer(ask: Ask) -> None:
    reply = ask("Who is eligible for the Gaza temporary resident visas and which family members count?")
    listed = [line for line in reply.text.splitlines() if line.startswith("[")]
    assert len(listed) == len({c.number for c in reply.citations})


@pytest.mark.parametrize(
    "question",
    [
        "What is the weather in Montreal tomorrow?",
        "Who won the hockey game last night?",
        "Quel est le prix d'un billet de métro à Montréal ?",
        "¿Cuál es la mejor receta de arepas?",
        "ما هي أفضل مباراة كرة قدم هذا الأسبوع؟",
    ],
)
def test_off_topic_questions_get_an_honest_no_answer_citing_nothing(ask: Ask, question: str) -> None:
    reply = ask(question)
    assert reply.kind == "no_answer"
    assert reply.citations == ()
    assert "•" in reply.text  # the topics the bot can help with


def test_no_answer_lists_the_topics_with_arabic_plural_rules(ask: Ask) -> None:
    reply = ask("ما هو سعر تذكرة الطائرة إلى فانكوفر؟")
    assert reply.kind == "no_answer"
    # Ten topics: Arabic "few" (3-10) form.
    assert "يمكنني المساعدة في هذه المواضيع الـ10:" in reply.text


@pytest.mark.parametrize(
    ("question", "category"),
    [
        ("My friend collapsed and is not breathing", "medical"),
        ("someone is breaking into my apartment right now", "violence"),
        ("I want to end my life", "suicide"),
        ("Il me frappe en ce moment, aidez-moi", "violence"),
        ("Mi hijo tomó muchas pastillas, creo que es una sobredosis", "medical"),
        ("لم أعد أريد العيش، أفكر في الانتحار", "suicide"),
    ],
)
def test_emergencies_get_911_at_once_and_988_for_suicide(ask: Ask, question: str, category: str) -> None:
    reply = ask(question)
    assert reply.kind == "emergency"
    assert reply.emergency == category
    assert "911" in reply.text
    assert ("9-8-8" in reply.text) == (category == "suicide")
    assert reply.citations == ()


def test_an_emergency_inside_a_long_message_is_still_seen(ask: Ask) -> None:
    reply = ask("I have a question about visas. " * 200 + "Also my friend is not breathing.")
    assert reply.kind == "emergency"


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("I got a removal order from CBSA last week, what should I do?", "en"),
        ("Ma demande d'asile a été refusée, est-ce que je peux faire appel ?", "fr"),
        ("Mi permiso de trabajo se venció, ¿me van a deportar?", "es"),
        ("رُفض طلب لجوئي، هل يجب أن أستأنف القرار؟", "ar"),
    ],
)
def test_personal_legal_situations_go_to_a_person_in_the_users_language(ask: Ask, question: str, lang: str) -> None:
    reply = ask(question)
    assert reply.kind == "handoff"
    assert reply.language == lang
    assert reply.citations == ()


@pytest.mark.parametrize(
    "question",
    [
        "Can victims of human trafficking get a work permit?",
        "What happens to refugee claims from Mexico at the IRB?",
        "Les demandeurs d'asile peuvent-ils recevoir de l'aide financière au Québec ?",
        "¿Quién puede solicitar el programa para familiares en Gaza?",
    ],
)
def test_general_questions_about_rules_are_answered_not_handed_off(ask: Ask, question: str) -> None:
    assert ask(question).kind == "answer"


def test_short_text_uses_the_saved_language_then_the_channel_hint(ask: Ask) -> None:
    assert ask("asile", saved="fr").language == "fr"
    assert ask("asilo", hint="es").language == "es"
    assert ask("visa", saved="ar", hint="en").language == "ar"


def test_a_clear_question_is_answered_in_its_own_language_whatever_the_hint(ask: Ask) -> None:
    assert ask("¿Cuántos refugiados hay en el mundo?", hint="en").language == "es"


@pytest.mark.parametrize("text", ["", "   ", "😀🙏🇨🇦", "???", "\u202e\u202d"])
def test_empty_or_emoji_only_messages_get_a_localized_prompt(ask: Ask, text: str) -> None:
    reply = ask(text, hint="es")
    assert reply.kind == "no_answer"
    assert reply.language == "es"
    assert "Solo leo texto" in reply.text


def test_ten_thousand_characters_get_a_reply_that_says_only_the_beginning_was_read(ask: Ask) -> None:
    reply = ask("Quelle aide reçoivent les demandeurs d'asile au Québec ? " + "x" * 10_000)
    assert reply.language == "fr"
    assert "Votre message est long" in reply.text


def test_bidi_controls_do_not_change_the_answer(ask: Ask) -> None:
    plain = ask("How many refugees are there in the world?")
    tricked = ask("\u202eHow many \u2066refugees\u2069 are there in the world?\u202c")
    assert tricked.kind == plain.kind == "answer"
    assert [c.passage_id for c in tricked.citations] == [c.passage_id for c in plain.citations]


def test_mixed_scripts_are_answered_in_the_majority_script_language(ask: Ask) -> None:
    reply = ask("ما هي شروط Temporary Resident Pathway لأهالي غزة؟")
    assert reply.language == "ar"


@pytest.mark.parametrize(
    "question",
    [
        "Como posso pedir asilo no Canadá? Preciso de ajuda com os documentos.",
        "Wie kann ich in Kanada Asyl beantragen?",
    ],
)
def test_a_question_in_another_language_is_answered_in_english_naming_the_languages(ask: Ask, question: str) -> None:
    reply = ask(question)
    assert reply.language == "en"
    assert reply.sections[0].startswith("I can answer in English, French, Spanish and Arabic")


def test_the_reply_text_is_the_sections_joined_by_blank_lines(ask: Ask) -> None:
    reply = ask("What is the Safe Third Country Agreement?")
    assert reply.text == "\n\n".join(reply.sections)


@pytest.mark.parametrize(
    "question",
    [
        "¿Qué es el Programa Federal de Salud Interino?",  # lingua's trigrams say Tagalog
        "Necesito un abogado para mi caso de asilo",  # ... and Portuguese here
    ],
)
def test_short_spanish_that_looks_like_tagalog_or_portuguese_is_answered_in_spanish(ask, question: str) -> None:  # type: ignore[no-untyped-def]
    assert ask(question).language == "es"


@pytest.mark.parametrize(
    "question",
    ["Paano ako makakakuha ng work permit sa Canada?", "Ich brauche einen Anwalt für meinen Asylantrag"],
)
def test_tagalog_and_german_still_get_the_list_of_languages(ask, question: str) -> None:  # type: ignore[no-untyped-def]
    reply = ask(question)
    assert reply.language == "en" and "Español" in reply.text


@pytest.mark.parametrize(
    "question",
    ["What is the minimum wage in Ontario?", "Quel est le salaire minimum en Ontario?"],
)
def test_a_passage_sharing_one_word_of_two_does_not_answer(ask, question: str) -> None:  # type: ignore[no-untyped-def]
    # "minimum standards" and "low-wage migrants" each share one word: neither is an answer.
    assert ask(question).kind == "no_answer"
