"""The service-provider notes shipped in knowledge/notes/, on the real knowledge base.

Four notes are drawn only from the seeds: the Migrant Rights Network, the TCRI, IRCC's
free Temporary Resident Permits for victims of human trafficking, and the Interim
Federal Health Program as the seeds mention it (only within the special measures for
Gaza). The seeds give no telephone number, address, website, e-mail, opening hours or
languages for any of them, so the notes must say so and send people to the
organisation, and must never fill the gap with a guess. Questions here are written for
these tests, in the four languages, the way a newcomer would ask them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot.core import Bot, Reply
from bot.knowledge import Note, Passage, normalize_quote, read_note

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "knowledge" / "notes"
PASSAGES = ROOT / "knowledge" / "passages"

Ask = Callable[..., Reply]

SHIPPED = ("migrant-rights-network", "tcri", "ircc-trafficking-permits", "interim-federal-health-program")
GAZA_MEASURES_END = date(2025, 1, 9)


def note(stem: str) -> Note:
    return read_note(NOTES / f"{stem}.md")


def passages_of(bot: Bot, stem: str) -> list[Passage]:
    return [p for p in bot.kb.passages if p.source == f"note-{stem}"]


def cited(reply: Reply) -> list[str]:
    return [c.source_id for c in reply.citations]


# -- they ship, and they are answered from ----------------------------------------------


def test_the_four_notes_ship_each_with_vetted_passages_in_their_own_file(bot: Bot) -> None:
    for stem in SHIPPED:
        assert (NOTES / f"{stem}.md").is_file()
        assert f"note-{stem}" in bot.kb.sources
        found = passages_of(bot, stem)
        assert 1 <= len(found) <= 2, stem
        assert all(p.status == "vetted" and p.file == f"knowledge/passages/note-{stem}.yaml" for p in found)


@pytest.mark.parametrize(
    "question",
    [
        "Is there an organisation in Quebec that helps refugees?",
        "Je cherche un regroupement d'organismes qui travaille avec les réfugiés et les sans-statut au Québec",
        "¿Hay un grupo de organizaciones que ayude a refugiados en Quebec?",
        "هل توجد منظمة في كيبيك تساعد اللاجئين؟",
    ],
)
def test_a_question_about_help_in_quebec_in_each_language_cites_the_tcri_note(ask: Ask, question: str) -> None:
    reply = ask(question)
    assert reply.kind == "answer"
    assert "note-tcri" in cited(reply)


@pytest.mark.parametrize(
    ("question", "stem"),
    [
        ("What is the telephone number of the TCRI?", "tcri"),
        ("How do I contact the Migrant Rights Network?", "migrant-rights-network"),
        ("What are the opening hours of the TCRI?", "tcri"),
        ("Comment joindre la TCRI ?", "tcri"),
        ("Où se trouve le Migrant Rights Network ?", "migrant-rights-network"),
        ("¿Cuál es la dirección de la TCRI?", "tcri"),
        ("¿Dónde está la oficina de la Migrant Rights Network?", "migrant-rights-network"),
        ("ما هو رقم هاتف TCRI؟", "tcri"),
        ("ما هو عنوان شبكة Migrant Rights Network؟", "migrant-rights-network"),
        ("Where do I apply for the Interim Federal Health Program?", "interim-federal-health-program"),
    ],
)
def test_asking_how_to_reach_an_organisation_gets_its_note_which_says_our_sources_do_not_tell(
    ask: Ask, question: str, stem: str
) -> None:
    reply = ask(question)
    assert reply.kind == "answer"
    assert f"note-{stem}" in cited(reply)
    assert CHECK_WITH_THE_ORGANISATION[reply.language] in reply.text


@pytest.mark.parametrize(
    "question",
    ["What is the phone number of the TCRI?", "¿Me puede dar el teléfono del Migrant Rights Network?"],
)
def test_asking_for_a_number_no_source_gives_never_gets_one(ask: Ask, question: str) -> None:
    reply = ask(question)
    # The note (which says there is none) or an honest "I do not know": never a number.
    assert reply.kind == "no_answer" or any(c.startswith("note-") for c in cited(reply))
    assert not CONTACT_DETAILS["a telephone number"].search(reply.text)


@pytest.mark.parametrize(
    "question",
    [
        "Where do trafficking victims without status apply for a free permit?",
        "Les victimes de la traite sans statut peuvent-elles obtenir un permis gratuit ?",
        "¿Las víctimas de trata pueden obtener un permiso de residencia temporal gratuito?",
        "هل تمنح كندا تصاريح إقامة مؤقتة مجانية لضحايا الاتجار بالبشر؟",
    ],
)
def test_a_question_about_permits_for_trafficking_victims_in_each_language_cites_the_ircc_note(
    ask: Ask, question: str
) -> None:
    reply = ask(question)
    assert reply.kind == "answer"
    assert "note-ircc-trafficking-permits" in cited(reply)


@pytest.mark.parametrize(
    "question",
    [
        "How long does the Interim Federal Health Program cover newcomers from Gaza?",
        "Qui est couvert par le Programme fédéral de santé intérimaire ?",
        "¿A quién cubre el Programa Federal de Salud Provisional?",
        "من يغطي برنامج الصحة الفيدرالي المؤقت؟",
    ],
)
def test_a_question_about_the_interim_federal_health_program_cites_its_note_and_says_the_measure_ended(
    bot: Bot, ask: Ask, question: str
) -> None:
    reply = ask(question)
    assert reply.kind == "answer"
    assert "note-interim-federal-health-program" in cited(reply)
    m = bot.catalogs[reply.language]
    assert m._("This measure ended on {date}.").format(date=m.date(GAZA_MEASURES_END)) in reply.text


def test_a_note_is_cited_as_a_note_about_its_provider_on_the_day_it_was_written(ask: Ask) -> None:
    reply = ask("Is there an organisation in Quebec that helps refugees?")
    shown = [c.shown for c in reply.citations if c.source_id == "note-tcri"]
    assert shown == [
        "Note about Roundtable for Organizations Serving Refugees and Immigrants (TCRI), November 21, 2026"
    ]
    assert "[1] " + shown[0] in reply.text


@pytest.mark.parametrize(
    "question",
    [
        "What are the opening hours of the public library?",
        "What is the phone number of the passport office?",
        "How do I contact my landlord?",
        "What website should I use to pay my taxes?",
        "C'est quoi les heures d'ouverture de la Grande Bibliothèque ?",
        "Quel est le numéro de téléphone du CLSC ?",
        "¿Cuál es el horario de atención del banco?",
        "¿Cuál es la dirección del consulado?",
        "ما هو رقم هاتف السفارة؟",
        "ما هي ساعات عمل المكتبة العامة؟",
    ],
)
def test_a_question_about_the_hours_or_phone_of_some_other_place_is_not_answered_with_a_note(
    ask: Ask, question: str
) -> None:
    # The notes say what they do not know ("no telephone number, ... nor any hours"):
    # those words alone must not make them an answer about a library or an embassy.
    assert not [s for s in cited(ask(question)) if s.startswith("note-")]


# -- invent nothing ----------------------------------------------------------------------

CONTACT_DETAILS = {
    "a telephone number": re.compile(
        r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\b1[\s-]?8\d\d[\s-]\d{3}|\b\d{3}[\s.-]\d{4}\b"
        r"|(?:tel|tél|phone|telephone|téléphone|teléfono|هاتف)\s*[:.]?\s*\+?\d",
        re.IGNORECASE,
    ),
    "an e-mail address": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "a web address": re.compile(r"https?://|\bwww\.|\b[\w-]+\.(?:ca|com|org|net|info|quebec)\b(?!\w)", re.IGNORECASE),
    "a street address": re.compile(
        r"\b\d{1,5},?\s+(?:[A-Z][\w'-]*\s+){0,3}(?:Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?"
        r"|Drive|Dr\.|Lane|Way|Place|Crescent)(?!\w)"
        r"|\b\d{1,5},?\s+(?:rue|avenue|boulevard|boul\.|chemin|calle|avenida|شارع)\b"
        r"|\b(?:calle|avenida|av\.|شارع)\s+\S+(?:\s+\S+)?\s+\d{1,5}\b"
        r"|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b|\b(?:suite|bureau|local|oficina)\s+\d",
        re.IGNORECASE,
    ),
    "opening hours": re.compile(
        r"\b\d{1,2}\s?(?::|h|ساعة)\s?\d{2}\b|\b\d{1,2}\s?h\b|\b\d{1,2}\s?(?:a\.?m\.?|p\.?m\.?)(?!\w)"
        r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lundi|mardi|mercredi|jeudi"
        r"|vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo)\b"
        r"|الساعة\s*\d|(?:^|\s)(?:الاثنين|الثلاثاء|الأربعاء|الخميس|السبت|الأحد)(?:\s|$)",
        re.IGNORECASE,
    ),
}


@pytest.mark.parametrize(
    ("kind", "example"),
    [
        ("a telephone number", "Call 514-555-0123."),
        ("a telephone number", "Téléphone : (514) 555 0123"),
        ("a telephone number", "1-888-555-0199"),
        ("a telephone number", "هاتف: 5550123"),
        ("an e-mail address", "écrivez à info@example.org"),
        ("a web address", "see https://example.org/help"),
        ("a web address", "www.example.com"),
        ("a web address", "example.qc.ca"),
        ("a street address", "123 Main Street"),
        ("a street address", "1234, rue Exemple"),
        ("a street address", "calle Mayor 12"),
        ("a street address", "H0H 0H0"),
        ("opening hours", "open 9:00 to 17:00"),
        ("opening hours", "de 9 h à 17 h"),
        ("opening hours", "9h30"),
        ("opening hours", "9am to 5 p.m."),
        ("opening hours", "du lundi au vendredi"),
        ("opening hours", "de lunes a viernes"),
        ("opening hours", "من الاثنين إلى الجمعة"),
    ],
)
def test_the_contact_detail_patterns_catch_what_they_are_meant_to(kind: str, example: str) -> None:
    assert CONTACT_DETAILS[kind].search(example)


def shipped_texts(bot: Bot) -> list[tuple[str, str]]:
    """Every text a shipped note gives: the whole note file and each passage in each language."""
    texts = [(f"{stem}.md", (NOTES / f"{stem}.md").read_text(encoding="utf-8")) for stem in SHIPPED]
    for stem in SHIPPED:
        for p in passages_of(bot, stem):
            texts += [(f"{p.id} quote", p.quote)] + [(f"{p.id} {lang}", t) for lang, t in p.texts.items()]
    return texts


def test_no_shipped_note_states_a_phone_number_address_email_or_hours(bot: Bot) -> None:
    found = [
        f"{where}: {kind} {match.group(0)!r}"
        for where, text in shipped_texts(bot)
        for kind, pattern in CONTACT_DETAILS.items()
        for match in pattern.finditer(text)
    ]
    assert found == []


def quotations(text: str) -> list[str]:
    return [q.rstrip(".,") for q in re.findall(r'"([^"]+)"', text)]


@pytest.mark.parametrize("stem", SHIPPED)
def test_every_quotation_in_a_shipped_note_is_verbatim_from_a_seed_it_is_drawn_from(bot: Bot, stem: str) -> None:
    n = note(stem)
    drawn_from = n.fields["drawn_from"]
    assert drawn_from and all(bot.kb.sources[s].kind != "service-provider" for s in drawn_from)
    seeds = [normalize_quote(bot.kb.source_texts[s]) for s in drawn_from]
    front = " ".join(str(v) for v in n.fields.values())
    quoted = quotations(n.body) + quotations(front)
    assert len(quotations(n.body)) >= 2
    missing = [q for q in quoted if not any(normalize_quote(q) in seed for seed in seeds)]
    assert missing == []


def test_the_tcri_is_named_only_as_the_sources_name_it(bot: Bot) -> None:
    # The seed gives the English name and the acronym; French and Spanish use its own
    # official (French) name, and no other name is made up, however likely it looks.
    texts = [t for where, t in shipped_texts(bot) if "tcri" in where]
    assert texts
    for text in texts:
        assert not re.search(r"Mesa de Concertaci|طاولة", text)
    for p in passages_of(bot, "tcri"):
        assert all("TCRI" in t for t in p.texts.values())


# -- say what is unknown, and where to ask -----------------------------------------------

CHECK_WITH_THE_ORGANISATION = {
    "en": "check with the organisation",
    "fr": "renseignez-vous auprès de l'organisme",
    "es": "consulte con la organización",
    "ar": "يُرجى التحقق من ذلك لدى",
}
NO_TELEPHONE = {"en": "no telephone number", "fr": "aucun téléphone", "es": "no dan teléfono", "ar": "الهاتف"}


@pytest.mark.parametrize("stem", SHIPPED)
def test_every_shipped_note_says_what_is_unknown_and_to_check_with_the_organisation(bot: Bot, stem: str) -> None:
    n = note(stem)
    for field in ("languages", "how_to_reach", "hours"):
        value = str(n.fields[field])
        assert value.startswith("not stated in our sources") and "check with the organisation" in value, field
    paragraphs = [p for p in n.body.split("\n\n") if p.strip() and not p.lstrip().startswith("#")]
    # The bot quotes paragraphs: each one sends people to the organisation on its own.
    assert all("check with the organisation" in p for p in paragraphs)
    assert "(no telephone number, address or other contact details), nor any hours or languages" in paragraphs[0]
    for p in passages_of(bot, stem):
        for lang, text in p.texts.items():
            assert CHECK_WITH_THE_ORGANISATION[lang] in text, (p.id, lang)
    # The passage a question about the organisation meets first is the one about who
    # they are: it says, in every language, that no telephone number is known.
    first = passages_of(bot, stem)[0]
    assert normalize_quote(paragraphs[0]) == normalize_quote(first.quote)
    for lang, text in first.texts.items():
        assert NO_TELEPHONE[lang] in text, (first.id, lang)


@pytest.mark.parametrize("stem", SHIPPED)
def test_a_note_passage_is_dated_as_of_its_seed_not_the_day_the_note_was_written(bot: Bot, stem: str) -> None:
    n = note(stem)
    written = date.fromisoformat(str(n.fields["written"]))
    seed_dates = [bot.kb.sources[s].date for s in n.fields["drawn_from"]]
    seed_days = {d.first_day for d in seed_dates if d is not None}
    for p in passages_of(bot, stem):
        assert p.as_of.first_day in seed_days, p.id
        assert p.as_of.first_day < written, p.id
        assert p.vetted_on == written


def test_the_interim_federal_health_program_is_described_only_within_the_gaza_measures_that_ended(
    bot: Bot,
) -> None:
    gaza_health = next(p for p in bot.kb.passages if p.id == "gaza-pathway-health-coverage")
    assert gaza_health.valid_until == GAZA_MEASURES_END
    for p in passages_of(bot, "interim-federal-health-program"):
        assert p.valid_until == gaza_health.valid_until
        assert "gaza" in p.topics
    body = note("interim-federal-health-program").body
    assert "only for the special measures for family members in Gaza" in body
    assert "January 9, 2025" in body
    assert "say nothing about who else the program covers" in body
    # Nothing else of the kind: the other notes carry no end date their sources do not give.
    for stem in ("migrant-rights-network", "tcri", "ircc-trafficking-permits"):
        assert all(p.valid_until is None for p in passages_of(bot, stem))
