"""Nothing lost, nothing doubled: `python -m bot serve` as a real process, killed with
SIGKILL, flooded with the same update, and kept waiting on a locked database. A fake
Bot API server records what Telegram would receive, and can refuse it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.storage import DATABASE_FILE
from tests.conftest import (
    TELEGRAM_HEADERS,
    signed_whatsapp,
    telegram_update,
    twiml_messages,
    wait_until,
    whatsapp_form,
)
from tests.serving import FakeTelegram, Server

SECRET = TELEGRAM_HEADERS


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def server(tmp_path: Path, telegram: FakeTelegram) -> Iterator[Server]:
    s = Server(tmp_path, telegram)
    s.start()
    yield s
    s.stop()


def test_a_reply_accepted_before_a_kill_9_is_sent_exactly_once_after_restart(
    server: Server, telegram: FakeTelegram
) -> None:
    telegram.down = True
    response = httpx.post(f"{server.url}/telegram", json=telegram_update(1, "What is the IFHP?"), headers=SECRET)
    assert response.status_code == 200  # acknowledged: Telegram will not send it again
    wait_until(lambda: telegram.attempts() >= 1, 10)
    server.kill()  # between accepting the update and delivering its reply
    assert telegram.delivered(777001) == []
    telegram.down = False
    server.start()
    # Delivered and marked delivered (the outbox empty: nothing left to send again); then
    # the process stops, so a send still in flight would be counted below.
    wait_until(lambda: len(telegram.delivered(777001)) >= 1 and server.rows("outbox") == 0, 20)
    server.stop()
    (reply,) = telegram.delivered(777001)
    assert "Interim Federal Health Program" in reply


def test_the_same_update_delivered_20_times_at_once_gets_one_reply_and_one_record(
    server: Server, telegram: FakeTelegram
) -> None:
    update = telegram_update(77, "Who can apply for the Gaza special measures?")

    async def flood() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            responses = await asyncio.gather(
                *(client.post("/telegram", json=update, headers=SECRET) for _ in range(20))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(flood()) == [200] * 20
    wait_until(lambda: len(telegram.delivered(777001)) >= 1 and server.rows("outbox") == 0, 10)
    server.stop()  # whatever was still being sent is now counted
    assert len(telegram.delivered(777001)) == 1
    assert server.rows("events") == 1 and server.rows("users") == 1


def test_the_same_messagesid_20_times_at_once_gets_one_answer(server: Server) -> None:
    form = whatsapp_form("SMflood0001", "¿Qué es el Programa Federal de Salud Interino?")
    headers = signed_whatsapp(form)

    async def flood() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return list(
                await asyncio.gather(*(client.post("/whatsapp", data=form, headers=headers) for _ in range(20)))
            )

    responses = asyncio.run(flood())
    assert [r.status_code for r in responses] == [200] * 20
    answered = [r for r in responses if twiml_messages(r.text)]
    assert len(answered) == 1
    assert server.rows("events") == 1


def test_a_database_locked_for_two_seconds_makes_requests_wait_not_fail(server: Server, telegram: FakeTelegram) -> None:
    locker = sqlite3.connect(server.data / DATABASE_FILE, timeout=10, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        time.sleep(2)
        locker.rollback()
        locker.close()
        released.set()

    threading.Thread(target=release).start()
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}/telegram", json=telegram_update(5, "What is the IFHP?"), headers=SECRET, timeout=30
    )
    waited = time.monotonic() - started
    released.wait(5)
    assert response.status_code == 200 and waited >= 1.5
    wait_until(lambda: len(telegram.delivered(777001)) == 1, 10)
