"""The bot's own words in four languages: gettext catalogs under `locales/`, and dates.

Owns loading the catalogs (Babel), choosing plural forms, formatting dates for a
user's locale, the sentences that carry a date (each in a grammar for a full date, a
month-only date and a year-only date: "date du 9 janvier 2025", "date de décembre
2021", "date de 2024"), language names as running text writes them ("je réponds en
français"), and marking Arabic lines right-to-left for display. A compiled
`messages.mo` is used when it is newer than its `.po`; otherwise the `.po` is compiled
in memory, so a fresh checkout needs no build step.

May import: the standard library, Babel, `bot.knowledge` (for `PartialDate`) and
`bot.normalize` (for the languages and Arabic letters).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.knowledge import PartialDate
from bot.normalize import LANGUAGES, has_arabic

DOMAIN = "messages"
# Each language's own name, as a label (buttons, lists, the volunteers' case header).
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}
# ... and inside a sentence of that language: French and Spanish write them in lower case.
LANGUAGE_NAMES_IN_TEXT = {"en": "English", "fr": "français", "es": "español", "ar": "العربية"}
# A partial date's precision is the catalogs' context for the sentences that carry it;
# a full date ("day") uses the sentence without context.
DATE_CONTEXTS = ("month", "year")
# The sentences written once per precision (`Messages.information_from`, `measure_ended`):
# `kb check` reports a partial date that a catalog has no variant for.
DATED_MESSAGES = (
    "This information is from {date}; check that it is still current.",
    "This measure ended on {date}.",
)
RLM = "\u200f"
_Day = date  # the type, for methods defined after `Messages.date`, which hides it


def right_to_left(text: str, language: str) -> str:
    """`text` with a right-to-left mark opening each Arabic line of an Arabic reply.

    Terminals and chat apps choose a line's direction from its first strong letter; a
    line such as "[1] Title — publisher, ٢٨ فبراير ٢٠٢٤" would otherwise be laid out left
    to right inside an Arabic reply. The mark is invisible and changes no letter."""
    if language != "ar":
        return text
    lines = text.split("\n")
    return "\n".join(RLM + line if has_arabic(line) and not line.startswith(RLM) else line for line in lines)


def _load(locales: Path, lang: str) -> Translations:
    folder = locales / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@dataclass(frozen=True)
class Messages:
    """One language's words: `_` and `ngettext` for sentences, `date` for dates."""

    language: str
    translations: Translations

    def _(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return str(self.translations.pgettext(context, message))

    @property
    def language_name(self) -> str:
        """This language's name as a sentence in it writes it ("français", "español")."""
        return LANGUAGE_NAMES_IN_TEXT[self.language]

    def date(self, when: PartialDate | date) -> str:
        partial = when if isinstance(when, PartialDate) else PartialDate(when, "day")
        return _format_date(partial.first_day, partial.precision, self.language)

    def _dated(self, when: PartialDate | _Day, day: str, month: str, year: str) -> str:
        """`{date}` filled in the variant written for `when`'s precision."""
        partial = when if isinstance(when, PartialDate) else PartialDate(when, "day")
        text = {"day": day, "month": month, "year": year}[partial.precision]
        return text.format(date=self.date(partial))

    # The sentences that carry a date. Each is written out once per precision so that
    # Babel extracts all three; a translator gives each the grammar its date needs.
    def information_from(self, when: PartialDate | _Day) -> str:
        return self._dated(
            when,
            self._("This information is from {date}; check that it is still current."),
            self.pgettext("month", "This information is from {date}; check that it is still current."),
            self.pgettext("year", "This information is from {date}; check that it is still current."),
        )

    def measure_ended(self, when: PartialDate | _Day) -> str:
        return self._dated(
            when,
            self._("This measure ended on {date}."),
            self.pgettext("month", "This measure ended on {date}."),
            self.pgettext("year", "This measure ended on {date}."),
        )

    def datetime(self, moment: datetime, zone: str) -> str:
        """A weekday, date and time in `zone`, naming the zone's place ("Toronto")."""
        tz = ZoneInfo(zone)
        local = moment.astimezone(tz)
        day = format_skeleton("MMMMEEEEd", local, locale=self.language)
        hour = format_time(local, "short", locale=self.language)
        comma = "، " if self.language == "ar" else ", "
        return f"{day}{comma}{hour} ({get_timezone_location(tz, locale=self.language)})"


# Sources' dates are few and every answer shows some: Babel formats each once (it cost
# as much as composing the rest of an answer). They are the knowledge base's dates, not
# anything a user wrote.
@functools.lru_cache(maxsize=4096)
def _format_date(day: date, precision: str, language: str) -> str:
    if precision == "day":
        return format_date(day, "long", locale=language)
    if precision == "month":
        return format_skeleton("yMMMM", day, locale=language)
    return format_skeleton("y", day, locale=language)


def load_catalogs(locales: Path) -> dict[str, Messages]:
    return {lang: Messages(lang, _load(locales, lang)) for lang in LANGUAGES}
