"""The application: builds the bot's parts from settings and wires them together.

Owns construction only: loading the knowledge base and catalogs once, at start-up,
and handing the assembled `Bot` to whichever channel runs.

May import: every module of the bot.
"""

from __future__ import annotations

from datetime import date

from bot.core import Bot
from bot.i18n import load_catalogs
from bot.knowledge import load
from bot.settings import Settings


def build_bot(settings: Settings) -> Bot:
    kb = load(settings.knowledge_dir)
    catalogs = load_catalogs(settings.locales_dir)
    fixed = settings.today
    return Bot(kb, catalogs, today=(lambda: fixed) if fixed else date.today)
