"""Which language a message is in, and so which language the reply is in.

Owns language identification: Arabic script decides Arabic; other scripts are
languages the bot does not speak; Latin text is identified by lingua among English,
French, Spanish and the other languages newcomers often write in. When the text is too
short to tell (one or two words, or none), the user's saved choice, then the channel's
hint, decide. Low-accuracy trigram models confuse short Spanish with Tagalog or
Portuguese ("Necesito un abogado para mi caso"): when lingua names another language,
the function words of ours (knowledge/stopwords.yaml) and Spanish's inverted marks can
still show the text is one of ours.

May import: the standard library, lingua, `bot.normalize`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from lingua import ConfidenceValue, Language, LanguageDetector, LanguageDetectorBuilder

from bot.normalize import LANGUAGES, fold, is_arabic_char

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
# lingua's confidence needed to name the language of one or two words.
_SHORT_CONFIDENCE = 0.9
_ARABIC_WORDS = 2


@dataclass(frozen=True)
class Detection:
    """`language` is the reply's language; `supported` is False when the user wrote in a
    language the bot does not speak (the reply is then in English and says so)."""

    language: str
    supported: bool = True


# Function words that show a text is in one of our languages despite lingua: at least
# this many, and this share of the words, more than any other of ours has.
_FUNCTION_WORDS = 2
_FUNCTION_SHARE = 0.35
_WORD = re.compile(r"\w+")


_ARABIC, _LATIN, _OTHER = "arabic", "latin", "other"


@functools.lru_cache(maxsize=4096)  # letters, not texts: a bounded set, met on every message
def _script(letter: str) -> str:
    if is_arabic_char(letter):
        return _ARABIC
    return _LATIN if "LATIN" in unicodedata.name(letter, "") else _OTHER


def _arabic_words(text: str) -> int:
    return sum(1 for w in text.split() if sum(map(is_arabic_char, w)) > len(w) / 2)


@dataclass
class LanguageIdentifier:
    # Stop words per language, folded (knowledge/stopwords.yaml).
    function_words: Mapping[str, frozenset[str]] = field(default_factory=dict)
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
        scripts = [_script(ch) for ch in text if ch.isalpha()]
        if not scripts:
            return Detection(fallback or DEFAULT)
        arabic = scripts.count(_ARABIC)
        # An Arabic question naming an English program ("شروط Temporary Resident Pathway")
        # is Arabic; an English question quoting one Arabic word is not.
        if arabic / len(scripts) > _SCRIPT_MAJORITY or (arabic and _arabic_words(text) >= _ARABIC_WORDS):
            return Detection("ar")
        if scripts.count(_LATIN) / len(scripts) <= _SCRIPT_MAJORITY:
            return Detection(DEFAULT, supported=False)
        words = text.split()
        if len(words) <= _SHORT_WORDS:
            return Detection(fallback or self._short(text))
        counts = self._function_word_counts(text)
        ours_by_words = self._by_function_words(text, counts)
        if ours_by_words is not None and not any(n for lang, n in counts.items() if lang != ours_by_words):
            # Function words of one of ours only: whatever lingua said, the rules below
            # would choose that language, so it is not asked (it costs most of the time
            # identification takes).
            return Detection(ours_by_words)
        values = self._detector.compute_language_confidence_values(text)
        return self._decide(values, counts, ours_by_words, fallback)

    def _decide(
        self,
        values: list[ConfidenceValue],
        counts: dict[str, int],
        ours_by_words: str | None,
        fallback: str | None,
    ) -> Detection:
        """The language of a text of three words or more, from lingua's confidence values
        and the function words of ours it has."""
        if not values:
            return Detection(fallback or DEFAULT)
        top = values[0]
        if top.language in _OURS:
            # Trigrams can take short French for Spanish ("Ma demande est encore valide?"):
            # function words of one of ours, and none of lingua's choice, decide.
            chosen = _OURS[top.language]
            if ours_by_words not in (None, chosen) and counts[ours_by_words] > counts[chosen]:
                return Detection(ours_by_words)
            # Names shared by the languages ("Mexicans", "visa", "Canada") can carry the
            # trigrams: two function words of one of ours, and none of lingua's choice, decide
            # ("do mexicans need visa for canada" is English).
            (best, lang), (second, _) = sorted(((n, lang) for lang, n in counts.items()), reverse=True)[:2]
            if not counts[chosen] and best >= _FUNCTION_WORDS and best > second:
                return Detection(lang)
            return Detection(chosen)
        if ours_by_words is not None:
            return Detection(ours_by_words)
        if top.value >= _OTHER_CONFIDENCE:
            return Detection(DEFAULT, supported=False)
        ours = [v for v in values if v.language in _OURS]
        if ours and ours[0].value > 0:
            return Detection(_OURS[ours[0].language])
        return Detection(fallback or DEFAULT)

    def _short(self, text: str) -> str:
        """One or two words and nothing else to go on: a word of ours ("hola", "merci"),
        else lingua when it is sure ("permiso trabajo"), else English. Trigrams alone call
        "hello" French and "hola" Turkish."""
        counts = self._function_word_counts(text)
        for lang in _OURS.values():
            if counts[lang]:
                return lang
        values = self._detector.compute_language_confidence_values(text)
        if values and values[0].language in _OURS and values[0].value >= _SHORT_CONFIDENCE:
            return _OURS[values[0].language]
        return DEFAULT

    def _function_word_counts(self, text: str) -> dict[str, int]:
        """How many of the text's words are function words of each of our Latin languages."""
        words = _WORD.findall(fold(text))
        return {lang: sum(w in self.function_words.get(lang, ()) for w in words) for lang in _OURS.values()}

    def _by_function_words(self, text: str, counts: dict[str, int]) -> str | None:
        if "¿" in text or "¡" in text:
            return "es"
        words = len(_WORD.findall(text))
        (best, lang), (second, _) = sorted(((n, lang) for lang, n in counts.items()), reverse=True)[:2]
        if best >= _FUNCTION_WORDS and best / words >= _FUNCTION_SHARE and best > second:
            return lang
        return None
