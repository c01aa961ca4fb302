"""Nothing lost, nothing doubled: `python -m bot serve` as a real process, killed with
SIGKILL, flooded with the same update, and kept waiting on a locked database. A fake
Bot API server records what Telegram would receive, and can refuse it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from bot.storage import DATABASE_FILE
from tests.conftest import (
    PUBLIC_URL,
    ROOT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_TOKEN,
    signed_whatsapp,
    telegram_update,
    whatsapp_form,
)

SECRET = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


class FakeTelegram:
    """A Bot API stand-in: records every call; refuses sendMessage with 502 while `down`."""

    def __init__(self) -> None:
        self.down = False
        self.calls: list[tuple[str, dict[str, Any], int]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                params = json.loads(body) if body.startswith("{") else dict(parse_qsl(body))
                method = self.path.rsplit("/", 1)[-1]
                status = 502 if fake.down and method == "sendMessage" else 200
                with fake.lock:
                    fake.calls.append((method, params, status))
                result: object = True
                if method == "sendMessage":
                    result = {"message_id": len(fake.calls), "date": 0, "chat": {"id": 1, "type": "private"}}
                if method == "getUpdates":
                    result = []
                payload = json.dumps(
                    {"ok": status == 200, "result": result}
                    if status == 200
                    else {"ok": False, "error_code": status, "description": "Bad Gateway"}
                ).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def delivered(self, chat_id: int) -> list[str]:
        with self.lock:
            return [
                str(p.get("text"))
                for m, p, status in self.calls
                if m == "sendMessage" and status == 200 and str(p.get("chat_id")) == str(chat_id)
            ]

    def attempts(self) -> int:
        with self.lock:
            return sum(1 for m, _, _ in self.calls if m == "sendMessage")


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    yield fake
    fake.server.shutdown()


class Server:
    def __init__(self, data: Path, telegram: FakeTelegram) -> None:
        self.data = data
        self.telegram = telegram
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "BOT_DATA_DIR": str(self.data),
            "BOT_TODAY": "2026-11-21",
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": self.telegram.url,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_URL,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_for(lambda: self._up(), 30)

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path, telegram: FakeTelegram) -> Iterator[Server]:
    s = Server(tmp_path, telegram)
    s.start()
    yield s
    s.stop()


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def count_rows(data: Path, table: str) -> int:
    with sqlite3.connect(data / DATABASE_FILE, timeout=10) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_reply_accepted_before_a_kill_9_is_sent_exactly_once_after_restart(
    server: Server, telegram: FakeTelegram
) -> None:
    telegram.down = True
    response = httpx.post(f"{server.url}/telegram", json=telegram_update(1, "What is the IFHP?"), headers=SECRET)
    assert response.status_code == 200  # acknowledged: Telegram will not send it again
    wait_for(lambda: telegram.attempts() >= 1, 10)
    server.kill()  # between accepting the update and delivering its reply
    assert telegram.delivered(777001) == []
    telegram.down = False
    server.start()
    wait_for(lambda: len(telegram.delivered(777001)) >= 1, 20)
    time.sleep(6)  # a full retry period: a second copy would show up here
    (reply,) = telegram.delivered(777001)
    assert "Interim Federal Health Program" in reply
    assert count_rows(server.data, "outbox") == 0


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
    wait_for(lambda: len(telegram.delivered(777001)) >= 1, 10)
    time.sleep(1)
    assert len(telegram.delivered(777001)) == 1
    assert count_rows(server.data, "events") == 1 and count_rows(server.data, "users") == 1


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
    answered = [r for r in responses if list(ET.fromstring(r.text).iter("Message"))]
    assert len(answered) == 1
    assert count_rows(server.data, "events") == 1


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
    wait_for(lambda: len(telegram.delivered(777001)) == 1, 10)
