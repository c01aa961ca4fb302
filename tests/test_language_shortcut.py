"""Language identification skips lingua only where lingua could not change the answer.

When the function words of a text belong to one of our languages only (and are enough
to decide), `detect` answers without asking lingua, which is most of its cost. These
tests ask lingua anyway and hold the decision it would have led to equal to the
shortcut's, on the calibration questions, the shared question set and texts in the
languages we do not speak.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.core import Bot
from bot.language import LanguageIdentifier
from bot.normalize import has_arabic

ROOT = Path(__file__).resolve().parents[1]
OTHERS = [
    "Como posso pedir asilo no Canadá? Preciso de ajuda com os documentos.",
    "Wie kann ich in Kanada Asyl beantragen?",
    "Paano ako makakakuha ng work permit sa Canada?",
    "Come posso chiedere asilo in Canada?",
    "Jak mogę ubiegać się o azyl w Kanadzie?",
    "Hoe kan ik asiel aanvragen in Canada?",
]


def _texts() -> list[str]:
    calibration = yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8"))
    texts = [str(case["q"]) for case in calibration]
    dev = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if dev.exists():
        texts += [json.loads(line)["q"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts + OTHERS


def _shortcut_taken(identifier: LanguageIdentifier, text: str) -> str | None:
    counts = identifier._function_word_counts(text)
    decided = identifier._by_function_words(text, counts)
    if decided is not None and not any(n for lang, n in counts.items() if lang != decided):
        return decided
    return None


@pytest.fixture(scope="module")
def identifier(bot: Bot) -> LanguageIdentifier:
    return bot.languages


def test_lingua_would_have_chosen_what_the_shortcut_chooses(identifier: LanguageIdentifier) -> None:
    taken = 0
    for text in _texts():
        if len(text.split()) <= 2 or has_arabic(text):
            continue
        decided = _shortcut_taken(identifier, text)
        if decided is None:
            continue
        taken += 1
        counts = identifier._function_word_counts(text)
        values = identifier._detector.compute_language_confidence_values(text)
        assert identifier._decide(values, counts, decided, None).language == decided, text
        assert identifier.detect(text).language == decided, text
    assert taken >= 20  # the shortcut is taken often enough for this to test something


def test_a_text_with_function_words_of_two_of_our_languages_still_asks_lingua(identifier: LanguageIdentifier) -> None:
    # "de" and "la" are French and Spanish: the function words alone cannot settle it.
    text = "la demande de asilo de mi hermano"
    assert _shortcut_taken(identifier, text) is None
    assert identifier.detect(text).supported


def test_portuguese_is_still_told_apart_from_spanish(identifier: LanguageIdentifier) -> None:
    detection = identifier.detect(OTHERS[0])
    assert (detection.language, detection.supported) == ("en", False)


@pytest.mark.parametrize(
    "text",
    [
        "do mexicans need visa for canada",
        "Do Mexicans need a visa for Canada?",
        "can mexicans still go to canada without visa",
    ],
)
def test_names_shared_by_the_languages_do_not_outweigh_english_function_words(
    identifier: LanguageIdentifier, text: str
) -> None:
    # lingua's trigrams call these Spanish ("mexicans", "visa", "canada"); the English
    # function words decide.
    assert identifier.detect(text).language == "en"
