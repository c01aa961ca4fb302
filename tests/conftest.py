"""Shared fixtures: the real bot on the real knowledge base, built once per test session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.app import build_bot
from bot.core import Bot, Incoming, Reply
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 21)


@pytest.fixture(scope="session")
def bot() -> Bot:
    return build_bot(Settings(today=TODAY))


@pytest.fixture(scope="session")
def ask(bot: Bot):  # type: ignore[no-untyped-def]
    def _ask(text: str, hint: str | None = None, saved: str | None = None) -> Reply:
        return bot.handle(Incoming(text, language_hint=hint, saved_language=saved))

    return _ask
