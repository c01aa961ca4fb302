"""Every catalog sentence that carries a date or a language name reads correctly in each
language, for a full date, a month-only date and a year-only date (issue 17, finding 3)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import DATED_MESSAGES, LANGUAGE_NAMES, Messages, load_catalogs
from bot.knowledge import PartialDate

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = load_catalogs(ROOT / "locales")
DAY, MONTH, YEAR = PartialDate.parse("2025-01-09"), PartialDate.parse("2021-12"), PartialDate.parse("2024")

INFO, ENDED = DATED_MESSAGES
NOTE = "Note about {provider}, {date}"

# What a reader must see: written by hand, not derived from the catalogs.
EXPECTED: dict[str, dict[str, tuple[str, str, str]]] = {
    INFO: {
        "en": (
            "This information is from January 9, 2025; check that it is still current.",
            "This information is from December 2021; check that it is still current.",
            "This information is from 2024; check that it is still current.",
        ),
        "fr": (
            "Cette information date du 9 janvier 2025 ; vérifiez qu'elle est toujours à jour.",
            "Cette information date de décembre 2021 ; vérifiez qu'elle est toujours à jour.",
            "Cette information date de 2024 ; vérifiez qu'elle est toujours à jour.",
        ),
        "es": (
            "Esta información es del 9 de enero de 2025; verifique que siga vigente.",
            "Esta información es de diciembre de 2021; verifique que siga vigente.",
            "Esta información es de 2024; verifique que siga vigente.",
        ),
        "ar": (
            "هذه المعلومات تعود إلى 9 يناير 2025؛ تحقق من أنها ما زالت سارية.",
            "هذه المعلومات تعود إلى ديسمبر 2021؛ تحقق من أنها ما زالت سارية.",
            "هذه المعلومات تعود إلى عام 2024؛ تحقق من أنها ما زالت سارية.",
        ),
    },
    ENDED: {
        "en": (
            "This measure ended on January 9, 2025.",
            "This measure ended in December 2021.",
            "This measure ended in 2024.",
        ),
        "fr": (
            "Cette mesure a pris fin le 9 janvier 2025.",
            "Cette mesure a pris fin en décembre 2021.",
            "Cette mesure a pris fin en 2024.",
        ),
        "es": (
            "Esta medida terminó el 9 de enero de 2025.",
            "Esta medida terminó en diciembre de 2021.",
            "Esta medida terminó en 2024.",
        ),
        "ar": (
            "انتهى العمل بهذا الإجراء في 9 يناير 2025.",
            "انتهى العمل بهذا الإجراء في ديسمبر 2021.",
            "انتهى العمل بهذا الإجراء في عام 2024.",
        ),
    },
    # A citation: the date stands after a comma, so one sentence fits every precision.
    NOTE: {
        "en": ("Note about TCRI, January 9, 2025", "Note about TCRI, December 2021", "Note about TCRI, 2024"),
        "fr": ("Note sur TCRI, 9 janvier 2025", "Note sur TCRI, décembre 2021", "Note sur TCRI, 2024"),
        "es": ("Nota sobre TCRI, 9 de enero de 2025", "Nota sobre TCRI, diciembre de 2021", "Nota sobre TCRI, 2024"),
        "ar": ("ملاحظة عن TCRI، 9 يناير 2025", "ملاحظة عن TCRI، ديسمبر 2021", "ملاحظة عن TCRI، 2024"),
    },
}


def render(m: Messages, message: str, when: PartialDate) -> str:
    if message == INFO:
        return m.information_from(when)
    if message == ENDED:
        return m.measure_ended(when)
    return m._(message).format(provider="TCRI", date=m.date(when))


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
@pytest.mark.parametrize("message", list(EXPECTED))
def test_a_dated_sentence_reads_correctly_for_a_full_a_month_only_and_a_year_only_date(lang: str, message: str) -> None:
    m = CATALOGS[lang]
    assert tuple(render(m, message, when) for when in (DAY, MONTH, YEAR)) == EXPECTED[message][lang]


# The mistakes the audit found, in any dated sentence of any language.
WRONG = re.compile(r"\bdu (?:janvier|décembre|\d{4})|\bdel (?:diciembre|enero|\d{4})|\bon (?:December|\d{4})")


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_no_dated_sentence_has_the_audits_grammar_for_a_partial_date(lang: str) -> None:
    m = CATALOGS[lang]
    for message in EXPECTED:
        for when in (MONTH, YEAR):
            assert not WRONG.search(render(m, message, when)), (lang, message, when)


def test_every_catalog_sentence_with_a_date_is_tested_here() -> None:
    with (ROOT / "locales" / "messages.pot").open("rb") as fh:
        dated = {m.id for m in read_po(fh) if isinstance(m.id, str) and "{date}" in m.id}
    assert dated == set(EXPECTED)


def test_a_sentence_with_a_date_known_to_the_month_or_year_has_its_own_variant_in_every_catalog() -> None:
    for lang in ("fr", "es", "ar"):
        with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            cat = read_po(fh, locale=lang)
        for message in DATED_MESSAGES:
            for context in ("month", "year"):
                entry = cat.get(message, context=context)
                assert entry is not None and entry.string and entry.string != message, (lang, message, context)


# The language set: running text writes French and Spanish names in lower case.
ANSWER_IN = {
    "en": "From now on I answer in English.",
    "fr": "À partir de maintenant, je réponds en français.",
    "es": "A partir de ahora, respondo en español.",
    "ar": "من الآن فصاعدًا، سأجيب باللغة العربية.",
}


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_the_language_named_in_a_sentence_is_written_as_running_text_writes_it(lang: str) -> None:
    m = CATALOGS[lang]
    assert m._("From now on I answer in {language}.").format(language=m.language_name) == ANSWER_IN[lang]


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_a_case_header_shows_the_language_as_a_label(lang: str) -> None:
    # A header of labels separated by "·", not a sentence: the language's own name as on
    # its button, capitalised where its script has capitals.
    m = CATALOGS[lang]
    header = m._("New case #{case} · {language} · {channel}").format(
        case="A7K2", language=LANGUAGE_NAMES["es"], channel="Telegram"
    )
    assert header.split(" · ")[1:] == ["Español", "Telegram"]


def test_every_catalog_sentence_with_a_language_name_is_tested_here() -> None:
    with (ROOT / "locales" / "messages.pot").open("rb") as fh:
        named = {m.id for m in read_po(fh) if isinstance(m.id, str) and "{language}" in m.id}
    # The third names the keyword that opens the language menu, not a language.
    assert named == {
        "From now on I answer in {language}.",
        "New case #{case} · {language} · {channel}",
        'Words you can send: "{menu}" (help), "{language}" (change language), "{volunteer}" '
        '(talk to a volunteer), "{forget}" (erase your data).',
    }
