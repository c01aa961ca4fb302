"""Settings: everything configurable, read once from the environment into a value.

Owns the names, defaults and parsing of the environment variables. Nothing reads the
environment anywhere else, and nothing here runs at import time: `Settings.from_env`
is called once by the entry point and the value is passed down. Secrets are kept out
of the value's repr, so that printing or logging settings never shows them.

May import: the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_API = "https://api.telegram.org"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    locales_dir: Path = PROJECT_ROOT / "locales"
    # Fixes "today" for reproducible replies (dates of ended measures, stale notices).
    today: date | None = None
    # The database and the generated pepper live here.
    data_dir: Path = PROJECT_ROOT / "data"
    pepper: str = field(default="", repr=False)
    telegram_token: str = field(default="", repr=False)
    telegram_webhook_secret: str = field(default="", repr=False)
    telegram_api_base_url: str = TELEGRAM_API
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_whatsapp_from: str = field(default="", repr=False)
    # Where the Twilio REST client sends (a local test double or a proxy); "": Twilio's own.
    twilio_api_base_url: str = ""
    public_base_url: str = ""
    retention_days: int = 30
    rate_limit_per_minute: int = 20
    log_level: str = "INFO"
    # The volunteer desk: the volunteers' Telegram group, and who else may act as one.
    volunteer_chat_id: int | None = None
    volunteer_ids: frozenset[int] = frozenset()
    volunteer_reminder_minutes: int = 15
    # Daily opening hours "HH:MM-HH:MM" in volunteer_timezone; None: always open.
    volunteer_hours: tuple[time, time] | None = None
    volunteer_timezone: str = "America/Toronto"
    volunteer_language: str = "en"
    twilio_template_sid: str = ""
    # Count questions without an answer (no person, no channel) for `kb gaps`.
    record_gaps: bool = True
    # What the server holds open: connections, and seconds for a request's head and body.
    max_connections: int = 200
    header_timeout: int = 10
    body_timeout: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        today = None
        if env.get("BOT_TODAY"):
            try:
                today = date.fromisoformat(env["BOT_TODAY"])
            except ValueError as exc:
                raise SettingsError(f"BOT_TODAY must be a date like 2026-01-31, not {env['BOT_TODAY']!r}") from exc
        public = (env.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
        if public and not public.startswith(("https://", "http://")):
            raise SettingsError(f"PUBLIC_BASE_URL must start with https://, not {public!r}")
        secret = (env.get("TELEGRAM_WEBHOOK_SECRET") or "").strip()
        if secret and not _SECRET_TOKEN.fullmatch(secret):
            # Telegram's own rule for secret_token; anything else makes setWebhook fail.
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1 to 256 of A-Z, a-z, 0-9, _ and -")
        level = (env.get("BOT_LOG_LEVEL") or cls.log_level).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"BOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
        return cls(
            knowledge_dir=Path(env.get("BOT_KNOWLEDGE_DIR") or cls.knowledge_dir),
            locales_dir=Path(env.get("BOT_LOCALES_DIR") or cls.locales_dir),
            today=today,
            data_dir=Path(env.get("BOT_DATA_DIR") or cls.data_dir),
            pepper=env.get("BOT_PEPPER") or "",
            telegram_token=(env.get("TELEGRAM_BOT_TOKEN") or "").strip(),
            telegram_webhook_secret=secret,
            telegram_api_base_url=(env.get("TELEGRAM_API_BASE_URL") or TELEGRAM_API).strip().rstrip("/"),
            twilio_account_sid=(env.get("TWILIO_ACCOUNT_SID") or "").strip(),
            twilio_auth_token=(env.get("TWILIO_AUTH_TOKEN") or "").strip(),
            twilio_whatsapp_from=(env.get("TWILIO_WHATSAPP_FROM") or "").strip(),
            twilio_api_base_url=(env.get("TWILIO_API_BASE_URL") or "").strip().rstrip("/"),
            public_base_url=public,
            retention_days=_positive(env, "BOT_RETENTION_DAYS", cls.retention_days),
            rate_limit_per_minute=_positive(env, "BOT_RATE_LIMIT", cls.rate_limit_per_minute),
            log_level=level,
            volunteer_chat_id=_chat_id(env.get("VOLUNTEER_CHAT_ID")),
            volunteer_ids=_ids(env.get("VOLUNTEER_IDS")),
            volunteer_reminder_minutes=_positive(env, "VOLUNTEER_REMINDER_MINUTES", cls.volunteer_reminder_minutes),
            volunteer_hours=_hours(env.get("VOLUNTEER_HOURS")),
            volunteer_timezone=_timezone(env.get("VOLUNTEER_TIMEZONE") or cls.volunteer_timezone),
            volunteer_language=_language(env.get("VOLUNTEER_LANGUAGE") or cls.volunteer_language),
            twilio_template_sid=(env.get("TWILIO_TEMPLATE_SID") or "").strip(),
            record_gaps=_switch(env, "BOT_RECORD_GAPS", default=True),
            max_connections=_positive(env, "BOT_MAX_CONNECTIONS", cls.max_connections),
            header_timeout=_positive(env, "BOT_HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=_positive(env, "BOT_BODY_TIMEOUT", cls.body_timeout),
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{name} must be a whole number of 1 or more, not {raw!r}")
    return value


def _chat_id(raw: str | None) -> int | None:
    if not raw or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError as exc:
        raise SettingsError(
            f"VOLUNTEER_CHAT_ID must be a Telegram chat id such as -1001234567890, not {raw!r}"
        ) from exc


def _ids(raw: str | None) -> frozenset[int]:
    if not raw or not raw.strip():
        return frozenset()
    try:
        return frozenset(int(part) for part in raw.replace(",", " ").split())
    except ValueError as exc:
        raise SettingsError(f"VOLUNTEER_IDS must be Telegram user ids separated by commas, not {raw!r}") from exc


def _hours(raw: str | None) -> tuple[time, time] | None:
    if not raw or not raw.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise SettingsError(f"VOLUNTEER_HOURS must look like 09:00-21:00, not {raw!r}") from exc
    if start == end:
        raise SettingsError("VOLUNTEER_HOURS must not start and end at the same time")
    return start, end


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"VOLUNTEER_TIMEZONE must be a time zone such as America/Toronto, not {raw!r}") from exc
    return raw


def _language(raw: str) -> str:
    if raw not in ("en", "fr", "es", "ar"):
        raise SettingsError(f"VOLUNTEER_LANGUAGE must be en, fr, es or ar, not {raw!r}")
    return raw


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")
