"""Normalisation: what `sanitize` keeps of a message, how `fold` and `Analyzer` make texts meet."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.normalize import Analyzer, fold, sanitize

ROOT = Path(__file__).resolve().parent.parent
STOPWORDS: dict[str, str] = yaml.safe_load((ROOT / "knowledge" / "stopwords.yaml").read_text(encoding="utf-8"))

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
KEPT_INSIDE = ["\u200d", "\u200c", "\u200f", "\u200e", "\u061c", "\n"]  # ZWJ, ZWNJ, RLM, LRM, ALM, newline

# Text users type: letters (any script), marks, digits, punctuation, symbols, spaces, and the
# characters sanitize keeps on purpose. No control, format, private-use or unassigned characters.
TYPED = st.text(
    st.characters(categories=["L", "M", "N", "P", "S", "Zs"], include_characters="".join(KEPT_INSIDE) + "\t")
)
ARABIC_DIACRITICS_AND_TATWEEL = "\u064b\u064e\u0650\u0651\u0652\u0670\u0640"

# Text rules and passages are folded from: no combining marks except Arabic diacritics.
WRITTEN = st.text(
    st.characters(categories=["L", "N", "P", "S", "Zs"], include_characters=ARABIC_DIACRITICS_AND_TATWEEL)
)
WORDS = st.text(st.characters(categories=["L"]), min_size=1)
PROPERTY = settings(max_examples=200, deadline=None)


def analyzer(language: str) -> Analyzer:
    """An analyzer with the real stop words of knowledge/stopwords.yaml."""
    return Analyzer(language, frozenset(STOPWORDS[language].split()))


# sanitize


@PROPERTY
@given(st.text())
@example("e\u200b\u0301")  # e, ZERO WIDTH SPACE, COMBINING ACUTE: "é" decomposed, then composed
def test_sanitize_is_idempotent_for_any_text(text: str) -> None:
    once = sanitize(text)
    assert sanitize(once) == once


@PROPERTY
@given(TYPED)
def test_sanitize_is_idempotent_for_typed_text(text: str) -> None:
    once = sanitize(text)
    assert sanitize(once) == once


@PROPERTY
@given(st.lists(st.one_of(st.sampled_from(BIDI_CONTROLS), st.characters()), max_size=40).map("".join))
def test_sanitize_never_returns_bidi_embeddings_overrides_or_isolates(text: str) -> None:
    assert not set(sanitize(text)) & set(BIDI_CONTROLS)


@PROPERTY
@given(WORDS, st.sampled_from(KEPT_INSIDE), WORDS)
def test_sanitize_keeps_joiners_directional_marks_and_newlines_inside_text(before: str, kept: str, after: str) -> None:
    text = before + kept + after
    assert sanitize(text) == unicodedata.normalize("NFC", text)


@pytest.mark.parametrize(
    "text",
    [
        "می\u200cخواهم",  # Persian "I want": ZWNJ keeps the letters apart
        "لا\u200dم",  # ZWJ
        "IRCC \u200fهي الدائرة",  # RLM
        "\u0627\u0644\u0631\u0642\u0645 \u061c123",  # ALM before digits
        "first line\nsecond line",
    ],
)
def test_sanitize_returns_text_with_kept_characters_inside_it_unchanged(text: str) -> None:
    assert sanitize(text) == text


def test_sanitize_removes_a_right_to_left_override_but_keeps_the_words() -> None:
    assert sanitize("permit \u202eexe.txt\u202c ok") == "permit exe.txt ok"


# fold


@PROPERTY
@given(st.text())
@example("1,\u0301000")  # 1, comma, COMBINING ACUTE, 000
def test_fold_is_idempotent_for_any_text(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@PROPERTY
@given(WRITTEN)
def test_fold_is_idempotent_for_written_text(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


def test_fold_removes_french_and_spanish_accents_and_case() -> None:
    assert fold("Québec Réfugiés Niño") == "quebec refugies nino"


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("أ", "ا"),  # alef with hamza above
        ("إ", "ا"),  # alef with hamza below
        ("آ", "ا"),  # alef with madda
        ("ة", "ه"),  # teh marbuta
        ("ى", "ي"),  # alef maksura
        ("ع\u064eمل", "عمل"),  # fatha
        ("ك\u0651ندا", "كندا"),  # shadda
        ("مـهـاجـر", "مهاجر"),  # tatweel U+0640
        ("إِقَامَة", "اقامه"),  # a whole word: hamza, kasra, fathas, teh marbuta
    ],
)
def test_fold_normalises_arabic_letters_and_removes_diacritics_and_tatweel(written: str, folded: str) -> None:
    assert fold(written) == folded


def test_fold_reads_arabic_indic_digits_and_thousands_separator_as_one_number() -> None:
    assert fold("٤٣٬٢٠٠") == "43200"


@pytest.mark.parametrize("written", ["43,200", "43 200", "43\u202f200", "43.200"])
def test_fold_writes_a_number_grouped_in_thousands_as_one_number(written: str) -> None:
    assert fold(written) == "43200"


def test_fold_reads_a_decimal_comma_as_a_decimal_point() -> None:
    assert fold("36,4") == "36.4"


# Analyzer


def test_french_refugies_with_and_without_accents_give_the_same_terms() -> None:
    fr = analyzer("fr")
    assert fr.terms("réfugiés") == fr.terms("refugies")


def test_spanish_solicitudes_and_solicitud_share_a_stem() -> None:
    es = analyzer("es")
    assert es.terms("solicitudes") == es.terms("solicitud") != []


def test_arabic_and_plus_article_prefix_gives_the_same_terms_as_the_article_alone() -> None:
    ar = analyzer("ar")
    assert ar.terms("والمهاجرين") == ar.terms("المهاجرين") != []


@pytest.mark.parametrize(
    ("language", "question", "terms"),
    [
        ("en", "How do I get a work permit?", ["work", "permit"]),
        ("es", "¿Cómo puedo obtener un permiso de trabajo?", ["obten", "permis", "trabaj"]),
        ("ar", "هل يمكنني الحصول على تصريح عمل؟", ["حصول", "تصريح", "عمل"]),
    ],
)
def test_stop_words_are_dropped_from_a_question(language: str, question: str, terms: list[str]) -> None:
    assert analyzer(language).terms(question) == terms


@pytest.mark.parametrize(
    "language",
    [
        "en",
        "fr",
        "es",
        "ar",
    ],
)
def test_every_stop_word_of_the_real_list_is_dropped(language: str) -> None:
    assert analyzer(language).terms(STOPWORDS[language]) == []


@pytest.mark.parametrize(
    ("language", "word"),
    [("en", "work"), ("en", "state"), ("en", "million"), ("es", "trabajo"), ("es", "estados"), ("fr", "travail")],
)
def test_content_words_are_not_stop_words(language: str, word: str) -> None:
    words = analyzer(language)
    assert words.terms(word) == [words.stem(word)]
