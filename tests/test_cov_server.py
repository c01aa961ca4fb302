"""The server's own life, with its background work running (`background=True`): the
webhook set at start-up, the delivery worker (at start-up, woken by requests, retrying
after a failure), reminders and the retention purge on the server's own timers, a
database that is busy or gone, the log lines that say which channel is off and why,
the logging configuration, and the body limit's refusal of a nonsensical length."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot import server
from bot.app import build_conversations
from bot.conversation import TELEGRAM, Conversations, Inbound
from bot.core import Bot
from bot.server import MAX_BODY, QUIET_LOGGERS, BodyLimit, configure_logging, create_app
from tests.conftest import (
    PUBLIC_URL,
    ROOM,
    TELEGRAM_HEADERS,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Clock,
    RecordingRequest,
    channel_settings,
    telegram_update,
    wait_until,
    write_lock_held,
)

SECRET = TELEGRAM_HEADERS
PERSON = "918273645"
LEGAL_EN = "My asylum claim was refused last week. Should I appeal the decision?"


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in list(caplog.records))


@pytest.fixture
def locked(tmp_path: Path, conversations: Conversations) -> Iterator[sqlite3.Connection]:
    """Another process holds the database's write lock (past a short busy timeout)."""
    with write_lock_held(tmp_path, conversations.store) as locker:
        yield locker


# -- start-up and the delivery worker ------------------------------------------------


def test_at_start_up_the_webhook_is_set_with_the_public_address_and_the_secret(
    conversations: Conversations, tmp_path: Path
) -> None:
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=telegram)
    with TestClient(app) as client:
        (call,) = [c for c in telegram.calls if c.method == "setWebhook"]
        assert call.params == {
            "url": PUBLIC_URL + "/telegram",
            "secret_token": TELEGRAM_SECRET,
            "allowed_updates": ["message", "callback_query"],
        }
        assert client.get("/healthz").json()["channels"]["telegram"] == "webhook"
        assert len(app.state.channels.tasks) >= 3  # purge, reminders, delivery
    assert app.state.channels.tasks == []  # stopped with the server


def test_without_a_public_address_no_webhook_is_set(conversations: Conversations, tmp_path: Path) -> None:
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path, public_base_url=""), conversations, telegram_request=telegram)
    with TestClient(app):
        pass
    assert not any(c.method == "setWebhook" for c in telegram.calls)


def test_a_refused_setwebhook_is_logged_with_what_to_check_and_the_server_still_runs(
    conversations: Conversations, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = RecordingRequest()
    telegram.failures.append((401, {"ok": False, "error_code": 401, "description": "Unauthorized"}))
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=telegram)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.post("/telegram", json=telegram_update(1, "/start"), headers=SECRET).status_code == 200
        wait_until(lambda: len(telegram.sent()) == 1)
    (line,) = [r.getMessage() for r in caplog.records if "webhook not set" in r.getMessage()]
    assert "TELEGRAM_BOT_TOKEN" in line and "PUBLIC_BASE_URL" in line
    assert TELEGRAM_TOKEN not in line and PUBLIC_URL not in line


def test_replies_left_in_the_outbox_leave_at_start_up_without_waiting_for_a_message(
    conversations: Conversations, tmp_path: Path
) -> None:
    conversations.receive(Inbound(TELEGRAM, "777001", "1", "/start", "en"), address="777001")
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path, public_base_url=""), conversations, telegram_request=telegram)
    with TestClient(app):
        wait_until(lambda: conversations.store.counts()["outbox"] == 0)
    assert [m["chat_id"] for m in telegram.sent()] == [777001]


def test_a_webhook_wakes_the_delivery_worker_which_sends_the_reply(
    conversations: Conversations, tmp_path: Path
) -> None:
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=telegram)
    with TestClient(app) as client:
        assert app.state.channels.worker
        assert client.post("/telegram", json=telegram_update(1, "What is the IFHP?"), headers=SECRET).status_code == 200
        wait_until(lambda: len(telegram.sent()) == 1)  # well before the worker's 5-second round
    assert "[1]" in telegram.sent()[0]["text"]


def test_a_database_locked_at_start_up_postpones_the_purge_and_delivery_until_it_is_free(
    conversations: Conversations,
    tmp_path: Path,
    locked: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Queued before the lock was taken (WAL readers still see it).
    locked.rollback()
    conversations.receive(Inbound(TELEGRAM, "777001", "1", "/start", "en"), address="777001")
    locked.execute("BEGIN IMMEDIATE")
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path, public_base_url=""), conversations, telegram_request=telegram)
    with TestClient(app) as client:
        assert logged(caplog, "retention purge postponed: database busy") == 1
        wait_until(lambda: logged(caplog, "delivery failed (Unavailable); will retry") >= 1)
        assert conversations.store.counts()["outbox"] == 1  # sent, but not yet marked: kept
        assert client.post("/telegram", json=telegram_update(2, "/privacy"), headers=SECRET).status_code == 503
        locked.rollback()
        assert client.post("/telegram", json=telegram_update(2, "/privacy"), headers=SECRET).status_code == 200
        wait_until(lambda: conversations.store.counts()["outbox"] == 0)
    assert {m["chat_id"] for m in telegram.sent()} == {777001}
    assert "/forget" in telegram.sent()[-1]["text"]


# -- the server's own timers ---------------------------------------------------------


@pytest.fixture
def fast_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reminder and purge rounds every 20 ms instead of every minute and every day."""
    monkeypatch.setattr(server, "REMIND_EVERY", 0.02)
    monkeypatch.setattr(server, "PURGE_EVERY", 0.02)


@pytest.fixture
def desk_conversations(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[Conversations]:
    conv = build_conversations(channel_settings(tmp_path, volunteer_chat_id=ROOM), bot, now=clock)
    yield conv
    conv.store.close()


def open_case(conv: Conversations) -> None:
    conv.receive(Inbound(TELEGRAM, PERSON, "1", LEGAL_EN, "en"), address=PERSON)
    conv.receive(Inbound(TELEGRAM, PERSON, "2", action="consent:yes", language_hint="en"), address=PERSON)
    assert len(conv.store.open_cases()) == 1


def test_the_server_reminds_unclaimed_cases_and_purges_old_data_on_its_own_timers(
    desk_conversations: Conversations, tmp_path: Path, clock: Clock, fast_timers: None
) -> None:
    conv = desk_conversations
    open_case(conv)
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path, volunteer_chat_id=ROOM), conv, telegram_request=telegram)
    with TestClient(app):
        wait_until(lambda: conv.store.counts()["outbox"] == 0)  # the case is posted to the room
        clock.advance(minutes=16)
        wait_until(lambda: any("/claim" in m["text"] for m in telegram.sent() if m["chat_id"] == ROOM))
        wait_until(lambda: any("not forgotten" in m["text"] for m in telegram.sent() if m["chat_id"] == int(PERSON)))
        assert conv.store.counts()["users"] == 1
        clock.advance(days=31)
        wait_until(lambda: conv.store.counts()["users"] == 0)  # 30 days without a message


def test_a_busy_database_postpones_reminders_without_stopping_them(
    desk_conversations: Conversations,
    tmp_path: Path,
    clock: Clock,
    fast_timers: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conv = desk_conversations
    open_case(conv)
    clock.advance(minutes=16)
    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path, volunteer_chat_id=ROOM), conv, telegram_request=telegram)
    with write_lock_held(tmp_path, conv.store, busy_ms=20) as locker, TestClient(app):
        wait_until(lambda: logged(caplog, "reminders postponed: database busy") >= 2)
        locker.rollback()
        wait_until(lambda: any("/claim" in m["text"] for m in telegram.sent() if m["chat_id"] == ROOM))


def test_when_the_database_is_gone_background_jobs_log_the_kind_of_failure_and_keep_trying(
    conversations: Conversations, tmp_path: Path, fast_timers: None, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=RecordingRequest())
    with TestClient(app) as client:
        conversations.store.close()
        wait_until(lambda: logged(caplog, "background job failed (ProgrammingError); will retry") >= 2)
        assert client.get("/healthz").status_code == 503


# -- configuration and logs ----------------------------------------------------------


def test_each_channel_or_desk_that_cannot_work_says_why_in_one_line(
    conversations: Conversations, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.server")
    create_app(
        channel_settings(tmp_path, telegram_webhook_secret="", twilio_account_sid="", volunteer_chat_id=ROOM),
        conversations,
        background=False,
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.server"]
    assert sum("TELEGRAM_WEBHOOK_SECRET is not set" in line and "--polling" in line for line in lines) == 1
    assert sum("whatsapp replies from volunteers off" in line for line in lines) == 1
    assert not any("volunteer desk off" in line for line in lines)
    caplog.clear()
    create_app(channel_settings(tmp_path, telegram_token="", volunteer_chat_id=ROOM), conversations, background=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.server"]
    assert sum("volunteer desk off" in line and "TELEGRAM_BOT_TOKEN" in line for line in lines) == 1
    create_app(channel_settings(tmp_path, public_base_url=""), conversations, background=False)
    assert any("whatsapp off: PUBLIC_BASE_URL is not set" in r.getMessage() for r in caplog.records)


def test_configure_logging_shows_level_logger_and_message_and_libraries_speak_only_of_problems(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh process; restored afterwards
    monkeypatch.setattr(root, "level", root.level)
    for name in QUIET_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    configure_logging("DEBUG")
    assert root.level == logging.DEBUG
    logging.getLogger("bot.test").debug("debugging the desk")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:SECRET/sendMessage")
    logging.getLogger("telegram").warning("telegram trouble")
    err = capsys.readouterr().err
    assert " DEBUG bot.test: debugging the desk" in err
    assert "SECRET" not in err and " WARNING telegram: telegram trouble" in err
    for name in QUIET_LOGGERS:
        assert logging.getLogger(name).level == logging.WARNING


def test_a_content_length_that_is_not_a_number_is_refused_before_the_application_sees_it() -> None:
    seen: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def application(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/telegram", "headers": [(b"content-length", b"2; drop")]}
    asyncio.run(BodyLimit(application, MAX_BODY)(scope, receive, send))
    assert seen == [] and sent[0]["status"] == 413
