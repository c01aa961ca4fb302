"""Which language a message is in, and so which language the reply is in.

Owns language identification: Arabic script decides Arabic; other scripts are
languages the bot does not speak; Latin text is identified by lingua among English,
French, Spanish and the other languages newcomers often write in. When the text is too
short to tell (one or two words, or none), the user's saved choice, then the channel's
hint, decide.

May import: the standard library, lingua, `bot.normalize`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bot.normalize import LANGUAGES, is_arabic_char

SUPPORTED = frozenset(LANGUAGES)
DEFAULT = "en"

# Latin-script languages lingua weighs against ours, so that a Portuguese or German
# question is recognised as such (and answered in English with the list of languages
# the bot speaks) instead of being taken for Spanish or French.
_LATIN_OTHERS = (
    Language.PORTUGUESE,
    Language.GERMAN,
    Language.ITALIAN,
    Language.TAGALOG,
    Language.TURKISH,
    Language.VIETNAMESE,
    Language.SOMALI,
    Language.SWAHILI,
    Language.POLISH,
    Language.ROMANIAN,
    Language.DUTCH,
    Language.YORUBA,
)
_OURS = {Language.ENGLISH: "en", Language.FRENCH: "fr", Language.SPANISH: "es"}
# Below this share of the letters, a script does not decide the language.
_SCRIPT_MAJORITY = 0.5
# lingua's confidence needed to say a text is in a language the bot does not speak.
_OTHER_CONFIDENCE = 0.6
_SHORT_WORDS = 2
_ARABIC_WORDS = 2


@dataclass(frozen=True)
class Detection:
    """`language` is the reply's language; `supported` is False when the user wrote in a
    language the bot does not speak (the reply is then in English and says so)."""

    language: str
    supported: bool = True


@dataclass
class LanguageIdentifier:
    _detector: LanguageDetector = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Low accuracy mode: trigram models only, ~50 MB instead of ~400 MB, and still
        # reliable on a question of three words or more.
        self._detector = (
            LanguageDetectorBuilder.from_languages(*_OURS, *_LATIN_OTHERS)
            .with_low_accuracy_mode()
            .with_preloaded_language_models()
            .build()
        )

    def detect(self, text: str, hint: str | None = None, saved: str | None = None) -> Detection:
        fallback = next((lang for lang in (saved, hint) if lang in SUPPORTED), None)
        letters = [ch for ch in text if ch.isalpha()]
        if not letters:
            return Detection(fallback or DEFAULT)
        arabic = sum(1 for ch in letters if is_arabic_char(ch))
        arabic_words = sum(1 for w in text.split() if sum(map(is_arabic_char, w)) > len(w) / 2)
        # An Arabic question naming an English program ("شروط Temporary Resident Pathway")
        # is Arabic; an English question quoting one Arabic word is not.
        if arabic / len(letters) > _SCRIPT_MAJORITY or arabic_words >= _ARABIC_WORDS:
            return Detection("ar")
        latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
        if latin / len(letters) <= _SCRIPT_MAJORITY:
            return Detection(DEFAULT, supported=False)
        words = text.split()
        if len(words) <= _SHORT_WORDS and fallback:
            return Detection(fallback)
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return Detection(fallback or DEFAULT)
        top = values[0]
        if top.language in _OURS:
            return Detection(_OURS[top.language])
        if top.value >= _OTHER_CONFIDENCE and len(words) > _SHORT_WORDS:
            return Detection(DEFAULT, supported=False)
        ours = [v for v in values if v.language in _OURS]
        if ours and ours[0].value > 0:
            return Detection(_OURS[ours[0].language])
        return Detection(fallback or DEFAULT)
