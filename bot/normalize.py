"""Text normalisation: cleaning what users send, and folding text for matching.

Owns two things: `sanitize` (what is kept of a user's text: bidi overrides and control
characters go, Arabic joiners and directional marks stay) and `Analyzer` (the terms a
text is matched on: NFKC, case folding, accent folding for French and Spanish, Arabic
normalisation, Snowball stemming, stop words, and the head words of multiword names).

May import: the standard library, PyStemmer and regex (Unicode categories in one pass). Nothing else of the bot.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import regex
import Stemmer

LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "ar")

_SNOWBALL = {"en": "english", "fr": "french", "es": "spanish", "ar": "arabic"}

# Explicit embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) can make
# text display in an order other than the one it was written in; they are never needed
# in a question. Marks (LRM, RLM, ALM) and joiners (ZWJ, ZWNJ) are kept: Arabic and
# Persian words need them to render and to mean what they say.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], None)
_KEPT_FORMAT = {"\u200c", "\u200d", "\u200e", "\u200f", "\u061c"}
# Control, surrogate, private-use, unassigned and format characters, except line breaks,
# tabs and the joiners and marks above (one regex pass instead of a loop per character).
_DROPPED = regex.compile(r"(?V1)[[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Cf}]--[\n\t\u200c\u200d\u200e\u200f\u061c]]+")
_FORMAT = regex.compile(r"\p{Cf}+")
_MARKS = regex.compile(r"\p{Mn}+")

_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS = str.maketrans(
    {
        "\u0622": "\u0627",  # آ -> ا
        "\u0623": "\u0627",  # أ -> ا
        "\u0625": "\u0627",  # إ -> ا
        "\u0671": "\u0627",  # ٱ -> ا
        "\u0624": "\u0648",  # ؤ -> و
        "\u0626": "\u064a",  # ئ -> ي
        "\u0649": "\u064a",  # ى -> ي
        "\u0629": "\u0647",  # ة -> ه
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
        "\u066b": ".",  # Arabic decimal separator
        "\u066c": ",",  # Arabic thousands separator
        "\u060c": ",",  # Arabic comma
        "\u061f": "?",  # Arabic question mark
    }
)
# 43,200 / 43 200 / 43.200 written as one number, so that every language's way of
# grouping digits matches the others.
_DIGIT_GROUPS = re.compile(r"(?<=\d)[,.\u00a0\u202f ](?=\d{3}(?!\d))")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d{1,2}(?!\d))")
_TOKEN = re.compile(r"[^\W_]+(?:[.][0-9]+)?", re.UNICODE)
_ARABIC_CHAR = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def sanitize(text: str) -> str:
    """What is kept of a user's message: NFC, no bidi overrides, no control characters.

    Idempotent. Keeps line breaks, tabs, Arabic joiners and directional marks.
    """
    # Characters are removed before composing, so that a second pass finds nothing to do.
    text = _DROPPED.sub("", text.translate(_BIDI_CONTROLS))
    return unicodedata.normalize("NFC", text).strip()


def is_arabic_char(ch: str) -> bool:
    return bool(_ARABIC_CHAR.match(ch))


def has_arabic(text: str) -> bool:
    return _ARABIC_CHAR.search(text) is not None


def _lower(text: str) -> str:
    """NFKC, case folded, Arabic normalised; accents still there."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_ARABIC_LETTERS)
    text = _ARABIC_DIACRITICS.sub("", text)
    text = _FORMAT.sub("", text)
    return text.replace("’", "'").replace("‘", "'")


def _numbers(text: str) -> str:
    """43,200 / 43 200 / 43.200 as 43200, and 36,4 as 36.4."""
    return _DECIMAL_COMMA.sub(".", _DIGIT_GROUPS.sub("", text))


def fold(text: str) -> str:
    """Lower case, no accents, Arabic normalised, digits grouped: the form rules match on.

    Used for triage patterns and glossary phrases as well as for terms.
    """
    return _numbers(_strip_accents(_lower(text)))


# What a rule's folding leaves as written: escapes (\b, \w, \?) and repeats ({2,5}),
# whose digits `_numbers` would otherwise read as a number ("0,15" as 0.15).
_RULE_SYNTAX = re.compile(r"\\.|\{\d*,?\d*\}")


def fold_pattern(pattern: str) -> str:
    """A rule (a regular expression) folded the way messages are, its syntax left alone."""
    parts, last = [], 0
    for m in _RULE_SYNTAX.finditer(pattern):
        parts.append(fold(pattern[last : m.start()]))
        parts.append(m.group())
        last = m.end()
    parts.append(fold(pattern[last:]))
    return "".join(parts)


def _strip_accents(word: str) -> str:
    return _MARKS.sub("", unicodedata.normalize("NFD", word))


# The Snowball Arabic stemmer leaves clitics stuck to words: والمهاجرين, للفلسطينيين and
# المهاجرين must meet. Larkey's light10 prefixes (Larkey, Ballesteros and Connell, 2002):
# the conjunction و, then one definite-article form, each only when enough word remains.
_LIGHT10_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")


def _arabic_prefixes(word: str) -> str:
    if len(word) >= 4 and word.startswith("و"):
        word = word[1:]
    for prefix in _LIGHT10_ARTICLES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    # The preposition بـ before an alef-initial word (بأولوية): few Arabic words begin "با".
    if len(word) >= 6 and word.startswith("با"):
        return word[1:]
    return word


# The head of a noun phrase: English puts it last ("asylum claim"), French, Spanish and
# Arabic first ("demande d'asile", "solicitud de asilo", "طلب لجوء").
_HEAD_LAST = frozenset({"en"})
# Joins a bound head to its name; never in a word (see _TOKEN), so no stem meets it.
_BOUND = "@"


def bound_stem(term: str) -> str | None:
    """The stem of a bound head term ("demand" for "demand@demand_asil"), else None."""
    stem, bound, _ = term.partition(_BOUND)
    return stem if bound else None


@dataclass
class Analyzer:
    """The terms of a text in one language: folded, stemmed, without stop words.

    `names` are multiword expressions (the glossary's names of concepts). Where one occurs
    whole, its head word takes its meaning from it, so the head's term is bound to the
    name: "demande d'asile" gives "demand@demand_asil" and "asil", and the "demand" of
    "a demandé" (asked) no longer meets every passage about asylum claims. Other words of
    the name keep their terms ("asile" means asylum in and out of it), and so does a head
    that `names` lists on its own ("claimant" in "refugee claimant").
    """

    language: str
    stopwords: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()
    _stemmer: Stemmer.Stemmer = field(init=False, repr=False)
    _cache: dict[str, str] = field(init=False, repr=False, default_factory=dict)
    # stems of each multiword name -> its terms; for each stem, the most stems a name that
    # begins with it has
    _names: dict[tuple[str, ...], tuple[str, ...]] = field(init=False, repr=False, default_factory=dict)
    _longest: dict[str, int] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._stemmer = Stemmer.Stemmer(_SNOWBALL[self.language])
        self.stopwords = frozenset(fold(w) for w in self.stopwords)
        stemmed = [(len(_TOKEN.findall(fold(name))), tuple(self.stems(name))) for name in self.names]
        # Counted as written: "qui peut demander" does not make "demander" a name alone.
        alone = {stems[0] for words, stems in stemmed if words == 1 and stems}
        head = -1 if self.language in _HEAD_LAST else 0
        for _, stems in stemmed:
            if len(stems) < 2:
                continue
            terms = list(stems)
            if stems[head] not in alone:
                terms[head] = f"{stems[head]}{_BOUND}{'_'.join(stems)}"
            # Names whose head stays free are kept too: the longest name found wins.
            self._names[stems] = tuple(terms)
            self._longest[stems[0]] = max(self._longest.get(stems[0], 0), len(stems))

    def words(self, text: str) -> list[str]:
        """Folded words (no accents), stop words removed."""
        words = []
        for word in _TOKEN.findall(fold(text)):
            if _strip_accents(word) in self.stopwords:
                continue
            if self.language == "ar":
                word = _arabic_prefixes(word)
                if word in self.stopwords:
                    continue
            if len(word) == 1 and not word.isdigit():
                continue
            words.append(word)
        return words

    def stem(self, word: str) -> str:
        cached = self._cache.get(word)
        if cached is None:
            # Accents are folded before stemming: people often type without them, and
            # "refugies" and "réfugiés" must give the same stem.
            cached = word if word[0].isdigit() else _strip_accents(self._stemmer.stemWord(word))
            if len(self._cache) < 200_000:
                self._cache[word] = cached
        return cached

    def stems(self, text: str) -> list[str]:
        """The stem of every word, heads of names included: what names are looked for in."""
        return [self.stem(w) for w in self.words(text)]

    def terms(self, text: str) -> list[str]:
        """The stems, with the head of each name found whole bound to it."""
        return self.bind(self.stems(text))

    def bind(self, stems: list[str]) -> list[str]:
        """`stems` (of `stems()`), with the head of each name found whole bound to it."""
        if not self._names:
            return stems
        out: list[str] = []
        i = 0
        while i < len(stems):
            # Leftmost-longest: in "permis de travail ouvert" the name is the whole phrase.
            for n in range(min(self._longest.get(stems[i], 0), len(stems) - i), 1, -1):
                terms = self._names.get(tuple(stems[i : i + n]))
                if terms is not None:
                    out.extend(terms)
                    i += n
                    break
            else:
                out.append(stems[i])
                i += 1
        return out
