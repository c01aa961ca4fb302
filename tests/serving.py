"""A served bot for tests: `python -m bot serve` as a real process on loopback, and a fake
Bot API server that records what Telegram would receive (and can refuse it); and a
deployment in this process, on a checkout of its own that a test edits as a maintainer
would.

Shared by the tests that need a process (tests/test_serve.py, tests/test_reliability.py)
or a checkout (tests/test_reload.py, tests/test_maintainer_walkthrough.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.testclient import TestClient
from twilio.rest import Client

from bot.app import build_conversations, rebuild_bot
from bot.core import Bot
from bot.server import create_app
from bot.storage import DATABASE_FILE
from tests.conftest import (
    PUBLIC_URL,
    ROOM,
    ROOT,
    TELEGRAM_HEADERS,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_TOKEN,
    Clock,
    JsonApi,
    RecordingRequest,
    RecordingTwilio,
    channel_settings,
    room_message,
    serve_locally,
    telegram_update,
    wait_until,
)

SECRET = TELEGRAM_HEADERS


class FakeTelegram:
    """A Bot API stand-in: records every call; refuses sendMessage with 502 while `down`."""

    def __init__(self) -> None:
        self.down = False
        # Seconds sendMessage takes to answer once Telegram has it (the real API can take 100 ms).
        self.delay = 0.0
        self.calls: list[tuple[str, dict[str, Any], int]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonApi):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                params = json.loads(body) if body.startswith("{") else dict(parse_qsl(body))
                method = self.path.rsplit("/", 1)[-1]
                status = 502 if fake.down and method == "sendMessage" else 200
                with fake.lock:
                    fake.calls.append((method, params, status))
                if method == "sendMessage" and fake.delay:
                    time.sleep(fake.delay)
                result: object = True
                if method == "sendMessage":
                    result = {"message_id": len(fake.calls), "date": 0, "chat": {"id": 1, "type": "private"}}
                if method == "getUpdates":
                    result = []
                self.reply_json(
                    status,
                    {"ok": status == 200, "result": result}
                    if status == 200
                    else {"ok": False, "error_code": status, "description": "Bad Gateway"},
                )

        self.server, self.url = serve_locally(Handler)

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


class Server:
    """`python -m bot serve` as a process, with both channels configured and Telegram
    pointed at `telegram`. Its output is kept (in `output`) once it stops."""

    def __init__(self, data: Path, telegram: FakeTelegram) -> None:
        self.data = data
        self.telegram = telegram
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.output = ""
        # More settings for the process, and what to run in it before the server (limits).
        self.env: dict[str, str] = {}
        self.preexec: Callable[[], None] | None = None

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
            "TWILIO_ACCOUNT_SID": "AC0000",
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_WHATSAPP_FROM": "whatsapp:+10000000000",
            "PUBLIC_BASE_URL": PUBLIC_URL,
            **self.env,
        }
        env.pop("BOT_PEPPER", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=self.preexec,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_until(lambda: self._up(), 30)

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def rows(self, table: str) -> int:
        """How many rows a table of the server's database holds (read as another process would)."""
        with sqlite3.connect(self.data / DATABASE_FILE, timeout=10) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.output += self.process.communicate(timeout=10)[0].decode(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.output += self.process.communicate(timeout=10)[0].decode(errors="replace")


class Deployment:
    def __init__(self, bot: Bot, tmp_path: Path, clock: Clock) -> None:
        # A checkout of our own: the knowledge base and the seeds its quotes come from.
        self.root = tmp_path / "checkout"
        shutil.copytree(ROOT / "knowledge", self.root / "knowledge")
        shutil.copytree(ROOT / "seeds", self.root / "seeds")
        self.settings = channel_settings(
            tmp_path / "data", knowledge_dir=self.root / "knowledge", volunteer_chat_id=ROOM
        )
        self.telegram = RecordingRequest()
        self.conv = build_conversations(self.settings, bot, now=clock)
        self.app = create_app(
            self.settings,
            self.conv,
            telegram_request=self.telegram,
            twilio_client=Client("AC0000", TWILIO_TOKEN, http_client=RecordingTwilio()),
            background=False,
            rebuild=lambda: rebuild_bot(self.settings),
        )
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.updates = 0

    def post(self, update: dict[str, Any]) -> None:
        assert self.client.post("/telegram", json=update, headers=SECRET).status_code == 200

    def ask(self, text: str, language_code: str = "en") -> str:
        self.updates += 1
        self.post(telegram_update(self.updates, text, language_code=language_code))
        return str(self.telegram.sent()[-1]["text"])

    def reload(self) -> str:
        self.updates += 1
        self.post(room_message(self.updates, "/reload"))
        return str([p for p in self.telegram.sent() if p["chat_id"] == ROOM][-1]["text"])

    def edit_passages(self, old: str, new: str, file: str = "gaza.yaml") -> None:
        path = self.root / "knowledge" / "passages" / file
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
