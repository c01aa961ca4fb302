"""Settings from the environment: every variable of the README's table is read, its
default applies when it is unset or empty, and a value the bot cannot use is refused
at start-up with a message naming the variable."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, TELEGRAM_API, Settings, SettingsError

FULL = {
    "BOT_KNOWLEDGE_DIR": "/srv/kb",
    "BOT_LOCALES_DIR": "/srv/locales",
    "BOT_TODAY": "2026-01-31",
    "BOT_DATA_DIR": "/var/lib/newcomer-bot",
    "BOT_PEPPER": "pepper-of-the-deployment-0123",
    "BOT_RETENTION_DAYS": "7",
    "BOT_RATE_LIMIT": "5",
    "BOT_LOG_LEVEL": "debug",
    "TELEGRAM_BOT_TOKEN": " 123456789:AAH-from-BotFather ",
    "TELEGRAM_WEBHOOK_SECRET": " a-long-random-string_made-of-letters ",
    "TELEGRAM_API_BASE_URL": "http://localhost:8081/",
    "TWILIO_ACCOUNT_SID": " AC0123456789abcdef ",
    "TWILIO_AUTH_TOKEN": " twilio-auth-token ",
    "TWILIO_WHATSAPP_FROM": " whatsapp:+14155238886 ",
    "PUBLIC_BASE_URL": " https://bot.example.org/ ",
    "VOLUNTEER_CHAT_ID": " -1001234567890 ",
    "VOLUNTEER_IDS": "11, 22 33,44",
    "VOLUNTEER_REMINDER_MINUTES": "30",
    "VOLUNTEER_HOURS": "09:00 - 21:30",
    "VOLUNTEER_TIMEZONE": "America/Vancouver",
    "VOLUNTEER_LANGUAGE": "fr",
    "TWILIO_TEMPLATE_SID": " HX0123 ",
}


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    s = Settings.from_env({})
    assert s.knowledge_dir == PROJECT_ROOT / "knowledge" and s.data_dir == PROJECT_ROOT / "data"
    assert s.today is None and s.telegram_api_base_url == TELEGRAM_API
    assert (s.retention_days, s.rate_limit_per_minute, s.log_level) == (30, 20, "INFO")
    assert s.volunteer_chat_id is None and s.volunteer_ids == frozenset() and s.volunteer_hours is None
    assert (s.volunteer_reminder_minutes, s.volunteer_timezone, s.volunteer_language) == (15, "America/Toronto", "en")


def test_empty_or_blank_values_count_as_unset() -> None:
    blank = {name: "" for name in FULL} | {"VOLUNTEER_CHAT_ID": "  ", "VOLUNTEER_IDS": " ", "VOLUNTEER_HOURS": " "}
    assert Settings.from_env(blank) == Settings()


def test_every_variable_is_read_and_trimmed() -> None:
    s = Settings.from_env(FULL)
    assert s.knowledge_dir == Path("/srv/kb") and s.locales_dir == Path("/srv/locales")
    assert s.data_dir == Path("/var/lib/newcomer-bot") and s.today == date(2026, 1, 31)
    assert s.pepper == "pepper-of-the-deployment-0123"
    assert (s.retention_days, s.rate_limit_per_minute, s.log_level) == (7, 5, "DEBUG")
    assert s.telegram_token == "123456789:AAH-from-BotFather"
    assert s.telegram_webhook_secret == "a-long-random-string_made-of-letters"
    assert s.telegram_api_base_url == "http://localhost:8081"
    assert (s.twilio_account_sid, s.twilio_auth_token) == ("AC0123456789abcdef", "twilio-auth-token")
    assert s.twilio_whatsapp_from == "whatsapp:+14155238886" and s.twilio_template_sid == "HX0123"
    assert s.public_base_url == "https://bot.example.org"  # no trailing slash: "/whatsapp" is appended
    assert s.volunteer_chat_id == -1001234567890
    assert s.volunteer_ids == frozenset({11, 22, 33, 44})
    assert s.volunteer_reminder_minutes == 30
    assert s.volunteer_hours == (time(9, 0), time(21, 30))
    assert (s.volunteer_timezone, s.volunteer_language) == ("America/Vancouver", "fr")


def test_secrets_never_appear_in_the_settings_repr() -> None:
    shown = repr(Settings.from_env(FULL))
    for secret in ("pepper-of-the-deployment", "AAH-from-BotFather", "a-long-random-string", "twilio-auth-token"):
        assert secret not in shown
    assert "+14155238886" not in shown  # the sender number is not a secret, but not for logs either
    assert "bot.example.org" in shown  # what is not secret stays visible for debugging


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOT_TODAY", "31/01/2026"),
        ("PUBLIC_BASE_URL", "bot.example.org"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces and $igns"),
        ("TELEGRAM_WEBHOOK_SECRET", "x" * 257),
        ("BOT_LOG_LEVEL", "verbose"),
        ("BOT_RETENTION_DAYS", "thirty"),
        ("BOT_RETENTION_DAYS", "0"),
        ("BOT_RATE_LIMIT", "-3"),
        ("VOLUNTEER_REMINDER_MINUTES", "1.5"),
        ("VOLUNTEER_CHAT_ID", "volunteers"),
        ("VOLUNTEER_IDS", "11, @nadia"),
        ("VOLUNTEER_HOURS", "9am-9pm"),
        ("VOLUNTEER_HOURS", "09:00"),
        ("VOLUNTEER_HOURS", "09:00-12:00-15:00"),
        ("VOLUNTEER_HOURS", "10:00-10:00"),
        ("VOLUNTEER_TIMEZONE", "Mars/Olympus_Mons"),
        ("VOLUNTEER_TIMEZONE", "../etc/passwd"),
        ("VOLUNTEER_LANGUAGE", "de"),
    ],
)
def test_a_value_the_bot_cannot_use_is_refused_with_a_message_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})
    assert name in str(refused.value)


def test_an_http_public_address_is_accepted_for_a_local_proxy() -> None:
    assert Settings.from_env({"PUBLIC_BASE_URL": "http://127.0.0.1:8080"}).public_base_url == "http://127.0.0.1:8080"


def test_overnight_volunteer_hours_are_accepted() -> None:
    assert Settings.from_env({"VOLUNTEER_HOURS": "22:00-06:00"}).volunteer_hours == (time(22), time(6))
