"""Settings: everything configurable, read once from the environment into a value.

Owns the names, defaults and parsing of the environment variables. Nothing reads the
environment anywhere else, and nothing here runs at import time: `Settings.from_env`
is called once by the entry point and the value is passed down.

May import: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    locales_dir: Path = PROJECT_ROOT / "locales"
    # Fixes "today" for reproducible replies (dates of ended measures, stale notices).
    today: date | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        today = None
        if env.get("BOT_TODAY"):
            try:
                today = date.fromisoformat(env["BOT_TODAY"])
            except ValueError as exc:
                raise SettingsError(f"BOT_TODAY must be a date like 2026-01-31, not {env['BOT_TODAY']!r}") from exc
        return cls(
            knowledge_dir=Path(env.get("BOT_KNOWLEDGE_DIR") or cls.knowledge_dir),
            locales_dir=Path(env.get("BOT_LOCALES_DIR") or cls.locales_dir),
            today=today,
        )
