"""The web server: health, channels switched on by their credentials, the body limit,
and logs that never hold a message, a token, a phone number or a chat id."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.conversation import Conversations
from bot.server import create_app
from tests.conftest import (
    TELEGRAM_HEADERS,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_TOKEN,
    RecordingRequest,
    button_press,
    channel_settings,
    in_portal,
    signed_whatsapp,
    telegram_update,
    whatsapp_form,
)


def test_healthz_reports_the_knowledge_base_and_database_and_nothing_about_users(
    conversations: Conversations, tmp_path: Path
) -> None:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=RecordingRequest(), background=False)
    with TestClient(app) as client:
        client.post("/whatsapp", data=(f := whatsapp_form("SM1", "hola")), headers=signed_whatsapp(f))
        report = client.get("/healthz").json()
    assert report["status"] == "ok" and report["database"] == "ok"
    assert report["knowledge_base"]["passages"] > 100 and len(report["knowledge_base"]["version"]) >= 8
    # Without the background work, setWebhook is never called: /healthz says so.
    assert report["channels"] == {"telegram": "webhook not set", "whatsapp": "on"}
    assert "users" not in str(report)


def test_a_channel_without_credentials_is_off_with_one_log_line(
    conversations: Conversations, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = channel_settings(tmp_path, telegram_token="", twilio_auth_token="")
    with caplog.at_level(logging.INFO, logger="bot.server"):
        app = create_app(settings, conversations, background=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.server"]
    assert sum("telegram off" in line for line in lines) == 1
    assert sum("whatsapp off" in line for line in lines) == 1
    with TestClient(app) as client:
        assert client.post("/telegram", json={}).status_code == 404
        assert client.post("/whatsapp", data={}).status_code == 404
        assert client.get("/healthz").json()["channels"] == {"telegram": "off", "whatsapp": "off"}


def test_polling_mode_refuses_webhook_posts(conversations: Conversations, tmp_path: Path) -> None:
    app = create_app(
        channel_settings(tmp_path), conversations, polling=True, telegram_request=RecordingRequest(), background=False
    )
    with TestClient(app) as client:
        headers = TELEGRAM_HEADERS
        assert client.post("/telegram", json=telegram_update(1), headers=headers).status_code == 404


def test_a_body_over_64_kb_is_refused_on_telegram_and_over_1_mb_on_whatsapp(
    conversations: Conversations, tmp_path: Path
) -> None:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=RecordingRequest(), background=False)
    big = b"{" + b" " * (65 * 1024) + b"}"
    with TestClient(app) as client:
        headers = TELEGRAM_HEADERS
        assert client.post("/telegram", content=big, headers=headers).status_code == 413

        def chunks() -> Iterator[bytes]:
            for _ in range(1025):
                yield b"x" * 1024

        assert client.post("/whatsapp", content=chunks(), headers={"X-Twilio-Signature": "x"}).status_code == 413


def test_logs_at_debug_hold_no_text_token_phone_number_or_chat_id(
    conversations: Conversations, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = RecordingRequest()
    recorder.failures.append((502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    secrets = [
        TELEGRAM_TOKEN,
        TELEGRAM_SECRET,
        TWILIO_TOKEN,
        "5145550123",
        "777001",
        "amal",
        "Amal",
        "deported",
        "expulsé",
        "IFHP",
    ]
    caplog.set_level(logging.DEBUG)
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=recorder, background=False)
    with TestClient(app) as client:
        headers = TELEGRAM_HEADERS
        client.post("/telegram", json=telegram_update(1, "Will I be deported? What is the IFHP?"), headers=headers)
        client.post("/telegram", json=telegram_update(2, "/forget"), headers=headers)
        client.post("/telegram", json=button_press(3, "lang:fr"), headers=headers)
        client.post("/telegram", content=b"{bad", headers=headers)
        form = whatsapp_form("SM1", "Est-ce que je vais être expulsé? IFHP")
        client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
        client.post("/whatsapp", data=form, headers={"X-Twilio-Signature": "forged"})
        in_portal(client, app.state.channels.telegram.deliver)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "the traffic logged nothing: the check below would prove nothing"
    for secret in secrets:
        assert secret not in logged, secret
