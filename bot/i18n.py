"""The bot's own words in four languages: gettext catalogs under `locales/`, and dates.

Owns loading the catalogs (Babel), choosing plural forms, formatting dates for a
user's locale, and marking Arabic lines right-to-left for display. A compiled
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
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}
RLM = "\u200f"


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

    def date(self, when: PartialDate | date) -> str:
        partial = when if isinstance(when, PartialDate) else PartialDate(when, "day")
        return _format_date(partial.first_day, partial.precision, self.language)

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
