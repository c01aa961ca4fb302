"""Shared fixtures: the real bot on the real knowledge base, built once per test session."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.database import DirectoryBasedExampleDatabase
from starlette.testclient import TestClient
from telegram.request import BaseRequest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from bot.app import build_bot
from bot.conversation import Conversations
from bot.core import Bot, Incoming, Reply
from bot.keys import Keys
from bot.settings import Settings
from bot.storage import DATABASE_FILE, Store

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 21)

# Hypothesis keeps every failing example in .hypothesis/examples (in CI, inside the job's
# workspace) and replays it first on the next run, until it passes; `print_blob` also puts
# a `@reproduce_failure(...)` line in the failure report, to replay it anywhere. The
# examples stay random from run to run (`derandomize` would turn the database off).
# HYPOTHESIS_PROFILE=ci (.ci/run) is the same with a database path CI names in
# HYPOTHESIS_DATABASE.
_EXAMPLES = DirectoryBasedExampleDatabase(os.environ.get("HYPOTHESIS_DATABASE") or ROOT / ".hypothesis" / "examples")
hypothesis_settings.register_profile("dev", database=_EXAMPLES, print_blob=True)
hypothesis_settings.register_profile("ci", database=_EXAMPLES, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


_BUILT: dict[date, Bot] = {}


@pytest.fixture(scope="session")
def bot() -> Bot:
    """Built once per process (building it takes seconds), and reused by a process forked
    from one that built it. Under mutmut its methods still run the mutated code (mutmut
    switches at every call); mutmut's workers (forkserver) build their own."""
    if TODAY not in _BUILT:
        _BUILT[TODAY] = build_bot(Settings(today=TODAY))
    return _BUILT[TODAY]


@pytest.fixture(scope="session")
def ask(bot: Bot):  # type: ignore[no-untyped-def]
    def _ask(text: str, hint: str | None = None, saved: str | None = None) -> Reply:
        return bot.handle(Incoming(text, language_hint=hint, saved_language=saved))

    return _ask


# -- channels and memory -------------------------------------------------------------

PEPPER = "test-pepper-0123456789abcdef"
PUBLIC_URL = "https://bot.example.org"
TWILIO_TOKEN = "twilio-test-auth-token"
TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "webhook-secret_42"
# The header Telegram sends with every webhook call (the secret given to setWebhook).
TELEGRAM_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

T = TypeVar("T")


def twiml_messages(twiml: str) -> list[str]:
    """The texts of the <Message> elements of a TwiML answer (an empty answer has none),
    after checking it is well formed: a <Response> of plain <Message>s and nothing else."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response", twiml
    assert all(child.tag == "Message" and len(child) == 0 for child in root), twiml
    return [message.text or "" for message in root]


def in_portal(client: TestClient, function: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function on the test client's event loop (where the app's tasks live)."""
    assert client.portal is not None, "the client is not started (use it in a `with` block)"
    return client.portal.call(function)


def wait_until(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    """Wait for work done elsewhere (a thread, a process, the app's background tasks) by
    polling its result: no fixed sleep, and a failure when it does not come in time."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not done within {seconds} s"
        time.sleep(0.01)


@contextmanager
def write_lock_held(data_dir: Path, store: Store | None = None, busy_ms: int = 50) -> Iterator[sqlite3.Connection]:
    """Another process holds the database's write lock: a second connection in an immediate
    transaction, for as long as the block runs (the test may `rollback()` it early, and
    `execute("BEGIN IMMEDIATE")` again). `store`, if given, waits only `busy_ms` for it."""
    locker = sqlite3.connect(data_dir / DATABASE_FILE, timeout=0, check_same_thread=False)
    if store is not None:
        store.db.conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield locker
    finally:
        if locker.in_transaction:
            locker.rollback()
        locker.close()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Call:
    method: str
    params: dict[str, Any]


class RecordingRequest(BaseRequest):
    """python-telegram-bot's network edge, recording calls instead of making them.
    `failures` holds (status, body) answers to give before the normal ones."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: list[tuple[int, dict[str, Any]]] = []
        self._message_id = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return None

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: Any = None, **timeouts: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append(Call(name, params))
        if self.failures:
            status, body = self.failures.pop(0)
            return status, json.dumps(body).encode()
        result: Any = True
        if name == "sendMessage":
            self._message_id += 1
            result = {
                "message_id": self._message_id,
                "date": 0,
                "chat": {"id": params.get("chat_id"), "type": "private"},
                "text": params.get("text", ""),
            }
        elif name == "getUpdates":
            result = []
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == "sendMessage"]


def channel_settings(data_dir: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "today": TODAY,
        "data_dir": data_dir,
        "pepper": PEPPER,
        "telegram_token": TELEGRAM_TOKEN,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_base_url": "http://telegram.invalid",
        "twilio_account_sid": "AC0000",
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_whatsapp_from": "whatsapp:+10000000000",
        "public_base_url": PUBLIC_URL,
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def conversations(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[Conversations]:
    conv = Conversations(bot, Store.open(tmp_path), Keys(PEPPER.encode()), clock=clock)
    yield conv
    conv.store.close()


def telegram_update(
    update_id: int,
    text: str | None = "hello",
    *,
    user_id: int = 777001,
    language_code: str | None = "en",
    chat_type: str = "private",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Telegram update as the Bot API sends it (the shape of a captured one)."""
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Amal", "username": "amal_k"}
    if language_code:
        sender["language_code"] = language_code
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1763726400,
        "chat": {"id": user_id, "type": chat_type, "first_name": "Amal", "username": "amal_k"},
        "from": sender,
    }
    if text is not None:
        message["text"] = text
    message.update(extra or {})
    return {"update_id": update_id, "message": message}


def button_press(update_id: int, data: str, *, user_id: int = 777001, language_code: str = "en") -> dict[str, Any]:
    sender = {"id": user_id, "is_bot": False, "first_name": "Amal", "language_code": language_code}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": sender,
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1763726400,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "newcomer-bot"},
                "text": "…",
            },
        },
    }


def signed_whatsapp(
    form: dict[str, str], url: str = PUBLIC_URL + "/whatsapp", token: str = TWILIO_TOKEN
) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


def message_sid(name: str) -> str:
    """A MessageSid shaped as Twilio makes them (SM + 32 hex), derived from a readable name."""
    return "SM" + hashlib.md5(name.encode()).hexdigest()


def whatsapp_form(sid: str, body: str, sender: str = "whatsapp:+15145550123", **extra: str) -> dict[str, str]:
    sid = message_sid(sid)
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC0000",
        "From": sender,
        "To": "whatsapp:+10000000000",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Amal Khalil",
        "WaId": sender.removeprefix("whatsapp:+"),
    }
    form.update(extra)
    return form


ROOM = -1009876543210
VOLUNTEER = 4242001  # a member of the room
LISTED_VOLUNTEER = 4242002  # in VOLUNTEER_IDS, writes from a private chat


class RecordingTwilio(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """twilio's network edge, recording REST calls instead of making them."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("tests.twilio"), is_async=False)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.failures: list[tuple[int, dict[str, Any]]] = []

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        self.requests.append((method, uri, dict(data or {})))
        if self.failures:
            status, body = self.failures.pop(0)
            return TwilioResponse(status, json.dumps(body))
        sid = f"SM{len(self.requests):032d}"
        return TwilioResponse(201, json.dumps({"sid": sid, "status": "queued", "to": (data or {}).get("To")}))

    def sent(self) -> list[dict[str, Any]]:
        return [d for m, u, d in self.requests if m == "POST" and u.endswith("/Messages.json")]


def room_message(
    update_id: int, text: str, *, user_id: int = VOLUNTEER, reply_to: int | None = None, name: str = "Nadia"
) -> dict[str, Any]:
    """A volunteer writing in the volunteers' room (a supergroup)."""
    message: dict[str, Any] = {
        "message_id": 10_000 + update_id,
        "date": 1763726400,
        "chat": {"id": ROOM, "type": "supergroup", "title": "Volunteers"},
        "from": {"id": user_id, "is_bot": False, "first_name": name, "username": f"{name.lower()}_v"},
        "text": text,
    }
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to,
            "date": 1763726400,
            "chat": {"id": ROOM, "type": "supergroup", "title": "Volunteers"},
            "from": {"id": 1, "is_bot": True, "first_name": "newcomer-bot"},
            "text": "…",
        }
    return {"update_id": update_id, "message": message}


def room_button(update_id: int, data: str, *, user_id: int = VOLUNTEER, name: str = "Nadia") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": name},
            "chat_instance": "room",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1763726400,
                "chat": {"id": ROOM, "type": "supergroup", "title": "Volunteers"},
                "from": {"id": 1, "is_bot": True, "first_name": "newcomer-bot"},
                "text": "…",
            },
        },
    }


class JsonApi(BaseHTTPRequestHandler):
    """A fake web API's request handler (Telegram's, Twilio's): JSON replies, no log."""

    def reply_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


def serve_locally(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> tuple[ThreadingHTTPServer, str]:
    """A fake API on a free port of `host`, served by daemon threads: the server and its URL."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"
