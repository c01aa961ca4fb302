"""The application: builds the bot's parts from settings and wires them together.

Owns construction only: loading the knowledge base and catalogs once, at start-up,
opening the database with the keys derived from the pepper, and handing the assembled
parts to whichever channel runs.

May import: every module of the bot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.conversation import Conversations
from bot.core import Bot
from bot.i18n import load_catalogs
from bot.keys import load_keys
from bot.knowledge import load
from bot.settings import Settings
from bot.storage import Store


def build_bot(settings: Settings) -> Bot:
    kb = load(settings.knowledge_dir)
    catalogs = load_catalogs(settings.locales_dir)
    fixed = settings.today
    return Bot(kb, catalogs, today=(lambda: fixed) if fixed else date.today)


def build_conversations(settings: Settings, bot: Bot | None = None, in_memory: bool = False) -> Conversations:
    """The conversation layer on the database in `settings.data_dir` (or in memory)."""
    keys = load_keys(settings.pepper, settings.data_dir)
    store = Store.open(None if in_memory else settings.data_dir)
    return Conversations(
        bot or build_bot(settings),
        store,
        keys,
        retention_days=settings.retention_days,
        rate_limit=settings.rate_limit_per_minute,
        clock=lambda: datetime.now(UTC),
    )
