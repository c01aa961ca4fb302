"""The application: builds the bot's parts from settings and wires them together.

Owns construction only: loading the knowledge base and catalogs once, at start-up,
opening the database with the keys derived from the pepper, and handing the assembled
parts to whichever channel runs.

May import: every module of the bot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bot.conversation import Conversations
from bot.core import Bot
from bot.desk import Desk
from bot.i18n import load_catalogs
from bot.kbcheck import check, errors
from bot.keys import load_keys
from bot.knowledge import load
from bot.settings import Settings
from bot.storage import Store


def build_bot(settings: Settings) -> Bot:
    kb = load(settings.knowledge_dir)
    catalogs = load_catalogs(settings.locales_dir)
    fixed = settings.today
    return Bot(kb, catalogs, today=(lambda: fixed) if fixed else date.today)


def build_conversations(
    settings: Settings,
    bot: Bot | None = None,
    in_memory: bool = False,
    now: Callable[[], datetime] | None = None,
) -> Conversations:
    """The conversation layer on the database in `settings.data_dir` (or in memory)."""
    keys = load_keys(settings.pepper, settings.data_dir)
    store = Store.open(None if in_memory else settings.data_dir)
    bot = bot or build_bot(settings)
    clock = now or utc_now
    desk = Desk(
        store,
        keys,
        bot.catalogs,
        room=settings.volunteer_chat_id if settings.telegram_token else None,
        volunteer_ids=settings.volunteer_ids,
        reminder=timedelta(minutes=settings.volunteer_reminder_minutes),
        hours=settings.volunteer_hours,
        timezone=settings.volunteer_timezone,
        room_language=settings.volunteer_language,
        template_sid=settings.twilio_template_sid,
        clock=clock,
    )
    return Conversations(
        bot,
        store,
        keys,
        retention_days=settings.retention_days,
        rate_limit=settings.rate_limit_per_minute,
        clock=clock,
        desk=desk,
        record_gaps=settings.record_gaps,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def rebuild_bot(settings: Settings) -> tuple[Bot | None, list[str]]:
    """A new bot on the knowledge base as it is now on disk, only if `kb check` passes on
    it; otherwise None and the problems, and the running bot stays."""
    problems = errors(check(settings.knowledge_dir))
    if problems:
        return None, [str(p) for p in problems]
    return build_bot(settings), []
