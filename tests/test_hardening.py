"""Holding under attack and after crashes (issue 14, items 3, 7, 8, 9 and 11), against
the real objects and `python -m bot serve` as a real process on loopback:

- files: the data folder 0700 and every file in it 0600 whatever the umask; a pepper file
  others can read is refused with a plain message;
- a WhatsApp reply recorded but never sent (a crash in between) is given to Twilio's
  retry of the same MessageSid;
- a long genuine WhatsApp message gets the "your message is long" reply, not a 413.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import sqlite3
import stat
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.__main__ import main
from bot.app import build_conversations
from bot.conversation import TELEGRAM, WHATSAPP, Conversations, Inbound, Outbound
from bot.core import Bot
from bot.keys import PEPPER_FILE, PepperError, load_keys
from bot.server import WHATSAPP_MAX_BODY, create_app, max_connections
from bot.settings import Settings, SettingsError
from bot.storage import DATABASE_FILE, Store
from tests.conftest import (
    ROOM,
    TELEGRAM_SECRET,
    Clock,
    RecordingRequest,
    channel_settings,
    signed_whatsapp,
    telegram_update,
    wait_until,
    whatsapp_form,
)
from tests.serving import SECRET, FakeTelegram, Server


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most machines have (022: new files readable by everyone)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- item 7: files readable by their owner only -------------------------------------------


def test_the_data_folder_is_0700_and_every_file_in_it_0600_under_a_loose_umask(
    bot: Bot, tmp_path: Path, loose_umask: None
) -> None:
    data = tmp_path / "var" / "newcomer-bot"
    conversations = build_conversations(channel_settings(data, pepper=""), bot)
    try:
        conversations.receive(Inbound(TELEGRAM, "777001", "1", "What is the IFHP?", "en"), "777001")
        files = sorted(p.name for p in data.iterdir())
        # The database, its write-ahead log and shared memory, and the generated pepper.
        assert files == sorted([DATABASE_FILE, DATABASE_FILE + "-shm", DATABASE_FILE + "-wal", PEPPER_FILE])
        assert mode(data) == 0o700
        assert {name: mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        conversations.store.close()


def test_a_database_left_readable_by_an_older_version_is_made_private_when_opened(
    tmp_path: Path, loose_umask: None
) -> None:
    Store.open(tmp_path).close()
    for name in (DATABASE_FILE, DATABASE_FILE + "-wal", DATABASE_FILE + "-shm"):
        (tmp_path / name).touch()
        os.chmod(tmp_path / name, 0o644)
    store = Store.open(tmp_path)
    store.close()
    assert mode(tmp_path / DATABASE_FILE) == 0o600
    assert all(mode(p) == 0o600 for p in tmp_path.iterdir() if p.name.startswith(DATABASE_FILE))


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604])
def test_a_pepper_file_others_can_read_is_refused(tmp_path: Path, loose: int) -> None:
    pepper = tmp_path / PEPPER_FILE
    pepper.write_text("restored-from-a-backup-0123456789\n")
    os.chmod(pepper, loose)
    with pytest.raises(PepperError, match="chmod 600") as refused:
        load_keys("", tmp_path)
    assert "restored-from" not in str(refused.value)  # the secret is never in the message
    os.chmod(pepper, 0o600)
    assert load_keys("", tmp_path).pepper == b"restored-from-a-backup-0123456789"


def test_serve_with_a_readable_pepper_says_so_and_stops_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / PEPPER_FILE).write_text("a-pepper-beside-the-database-0123456789")
    os.chmod(data / PEPPER_FILE, 0o644)
    monkeypatch.delenv("BOT_PEPPER", raising=False)
    monkeypatch.setenv("BOT_DATA_DIR", str(data))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", never)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the pepper file") and "can be read by others (mode 644)" in err
    assert "BOT_PEPPER" in err and "Traceback" not in err
    assert "a-pepper-beside" not in err


# -- item 11: a long genuine WhatsApp message is read ----------------------------------

LONG_NOTICE = "Your message is long, so I read its beginning. Short questions get the best answers."
# A person's story, pasted whole, with the question at its start: 14,527 Arabic
# characters, 73,562 bytes once form-encoded (each letter is two UTF-8 bytes, six encoded).
ARABIC_STORY = (
    "ما هو برنامج الصحة الفيدرالي المؤقت؟ " + "وصلت إلى كندا مع عائلتي في الشتاء الماضي وننتظر جلسة الاستماع. " * 230
)


@pytest.fixture
def app_client(conversations: Conversations, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(channel_settings(tmp_path), conversations, background=False)
    with TestClient(app) as client:
        yield client


def twiml_messages(twiml: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


def test_a_14000_character_arabic_message_gets_the_long_message_reply_not_413(app_client: TestClient, bot: Bot) -> None:
    form = whatsapp_form("SMlong-story", ARABIC_STORY)
    encoded = len(urlencode(form).encode())
    assert len(ARABIC_STORY) > 14_000 and encoded > 64 * 1024  # over the 64 KB of before
    response = app_client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
    assert response.status_code == 200
    reply = "\n".join(twiml_messages(response.text))
    assert bot.catalogs["ar"]._(LONG_NOTICE) in reply
    assert bot.catalogs["ar"]._(LONG_NOTICE) != LONG_NOTICE  # in Arabic, not in English


def test_a_body_above_the_hard_bound_is_refused_before_it_is_read(
    app_client: TestClient, conversations: Conversations
) -> None:
    form = whatsapp_form("SMabuse", "x" * (WHATSAPP_MAX_BODY + 1))
    assert app_client.post("/whatsapp", data=form, headers=signed_whatsapp(form)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as soon as it passes the bound
        for _ in range(WHATSAPP_MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    assert app_client.post("/whatsapp", content=chunks(), headers={"X-Twilio-Signature": "x"}).status_code == 413
    assert conversations.store.counts()["events"] == 0
    # Telegram's updates keep the small bound: a message there is at most 4,096 characters.
    big = b"{" + b" " * (65 * 1024) + b"}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert app_client.post("/telegram", content=big, headers=headers).status_code == 413


# -- item 8: a WhatsApp reply recorded but never sent ------------------------------------


class ProcessDied(BaseException):
    """The process ends where this is raised: nothing after it runs (a kill -9)."""


def post_and_die_before_the_response_leaves(app: Starlette, form: dict[str, str]) -> None:
    """Twilio's request reaches the application, which records the message and its reply;
    the process dies as the response starts to leave, so Twilio gets nothing."""
    body = urlencode(form).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/whatsapp",
        "raw_path": b"/whatsapp",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bot.example.org"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"x-twilio-signature", signed_whatsapp(form)["X-Twilio-Signature"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        raise ProcessDied

    with pytest.raises(ProcessDied):
        asyncio.run(app(scope, receive, send))


def test_twilios_retry_of_a_message_whose_reply_never_left_gets_that_reply(bot: Bot, tmp_path: Path) -> None:
    settings = channel_settings(tmp_path / "data")
    form = whatsapp_form("SMcrash-between", "What is the IFHP?")
    before = build_conversations(settings, bot)
    post_and_die_before_the_response_leaves(create_app(settings, before, background=False), form)
    assert before.store.counts()["events"] == 1  # recorded: a retry is a redelivery
    before.store.close()

    after = build_conversations(settings, bot)  # the restarted process
    with TestClient(create_app(settings, after, background=False)) as client:
        retry = client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
        assert retry.status_code == 200
        reply = "\n".join(twiml_messages(retry.text))
        assert "Interim Federal Health Program" in reply and "[1]" in reply
        # The reply left with that response: a later retry is a plain duplicate.
        again = client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
        assert again.status_code == 200 and twiml_messages(again.text) == []
    assert after.store.counts()["events"] == 1
    assert after.store.db.conn.execute("SELECT count(*) FROM unsent_replies").fetchone()[0] == 0
    after.store.close()


def test_a_reply_that_left_is_not_kept_and_a_duplicate_gets_nothing(
    app_client: TestClient, conversations: Conversations
) -> None:
    form = whatsapp_form("SMsent", "¿Qué es el Programa Federal de Salud Interino?")
    first = app_client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
    assert twiml_messages(first.text)
    assert conversations.store.db.conn.execute("SELECT count(*) FROM unsent_replies").fetchone()[0] == 0
    second = app_client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
    assert twiml_messages(second.text) == []


def test_a_reply_kept_for_a_retry_goes_with_forget_and_with_the_purge(bot: Bot, tmp_path: Path, clock: Clock) -> None:
    settings = channel_settings(tmp_path / "data")
    conversations = build_conversations(settings, bot, now=clock)
    app = create_app(settings, conversations, background=False)
    for n, person in enumerate(("whatsapp:+15145550101", "whatsapp:+15145550102")):
        form = whatsapp_form(f"SMkept{n}", "What is the IFHP?", sender=person)
        post_and_die_before_the_response_leaves(app, form)
    kept = conversations.store.db.conn.execute

    def count() -> int:
        return int(kept("SELECT count(*) FROM unsent_replies").fetchone()[0])

    assert count() == 2
    conversations.receive(Inbound(WHATSAPP, "whatsapp:+15145550101", "SMforget", "/forget"), until_sent=True)
    assert count() == 2 - 1 + 1  # the first person's is gone; the erasure's own confirmation waits
    assert (
        kept(
            "SELECT count(*) FROM unsent_replies WHERE thread = ?",
            (conversations.keys.pseudonym(WHATSAPP, "whatsapp:+15145550101"),),
        ).fetchone()[0]
        == 0
    )
    clock.advance(days=3)
    conversations.purge()
    assert count() == 0
    conversations.store.close()


def test_a_database_busy_when_the_reply_has_left_keeps_it_until_the_purge_and_logs_no_text(
    conversations: Conversations, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(channel_settings(tmp_path), conversations, background=False)
    channel = app.state.channels.whatsapp
    event = Inbound(WHATSAPP, "whatsapp:+15145550123", "SMbusy", "What is the IFHP?")
    outcome = conversations.receive(event, until_sent=True)
    other = sqlite3.connect(tmp_path / DATABASE_FILE, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    conversations.store.db.conn.execute("PRAGMA busy_timeout = 50")
    try:
        asyncio.run(channel._after(event, outcome))
    finally:
        other.rollback()
        other.close()
    assert "database busy" in caplog.text and "IFHP" not in caplog.text
    assert conversations.store.unsent_reply(conversations.keys.event_key(WHATSAPP, "SMbusy")) is not None
    # This process still knows the reply left: a retry now is not answered twice.
    assert conversations.receive(event, until_sent=True).status == "duplicate"


# -- item 9: Telegram replies doubled by a kill -9 -----------------------------------------


@pytest.fixture
def slow_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.delay = 0.1  # the Bot API answers after 100 ms, as the real one can
    yield fake
    fake.server.shutdown()


def post_at_once(url: str, updates: list[dict[str, object]]) -> list[int]:
    async def flood() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            responses = await asyncio.gather(*(client.post("/telegram", json=u, headers=SECRET) for u in updates))
        return [r.status_code for r in responses]

    return asyncio.run(flood())


def test_a_kill_9_while_eight_replies_are_in_flight_doubles_at_most_one_piece(
    tmp_path: Path, slow_telegram: FakeTelegram
) -> None:
    people = [888001 + n for n in range(8)]
    server = Server(tmp_path, slow_telegram)
    server.start()
    try:
        updates = [telegram_update(n + 1, "What is the IFHP?", user_id=p) for n, p in enumerate(people)]
        assert post_at_once(server.url, updates) == [200] * 8  # acknowledged: never redelivered
        wait_until(lambda: slow_telegram.attempts() >= 1, 20)
        server.kill()  # replies on their way to Telegram, their arrival not yet recorded
        sent_before = slow_telegram.attempts()
        server.start()
        wait_until(lambda: all(slow_telegram.delivered(p) for p in people), 60)
        time.sleep(2)  # a second copy would show up here
    finally:
        server.stop()
    pieces = Counter(
        (str(params.get("chat_id")), str(params.get("text")))
        for m, params, _ in slow_telegram.calls
        if m == "sendMessage"
    )
    doubled = sum(n - 1 for n in pieces.values())
    assert sent_before >= 1 and len(pieces) >= 8
    assert doubled <= 1, f"{doubled} pieces sent twice"


# -- item 3: what one request and one caller may cost the server -------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def read_status(sock: socket.socket) -> int | None:
    """The status of what the server answered on `sock`, or None when it only closed it."""
    sock.settimeout(15)
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        return None
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server with short read timeouts, so that the tests need not wait long."""
    telegram = FakeTelegram()
    server = Server(tmp_path_factory.mktemp("bounded"), telegram)
    server.env = {"BOT_HEADER_TIMEOUT": "2", "BOT_BODY_TIMEOUT": "2"}
    server.start()
    yield server
    server.stop()
    telegram.server.shutdown()


def test_eight_connections_sending_40_mb_header_lines_do_not_grow_the_server(bounded: Server) -> None:
    assert bounded.process is not None
    pid = bounded.process.pid
    before = rss_mb(pid)
    peak = before
    statuses: list[int | None] = []
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.02)

    def attack() -> None:
        with socket.create_connection(host_port(bounded.url)) as sock:
            chunk = b"a" * (1024 * 1024)
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Filler: ")
                for _ in range(40):
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            statuses.append(read_status(sock))

    watcher = threading.Thread(target=watch)
    watcher.start()
    attackers = [threading.Thread(target=attack) for _ in range(8)]
    for t in attackers:
        t.start()
    for t in attackers:
        t.join()
    done.set()
    watcher.join()
    print(f"\nRSS {before:.0f} MB before, {peak:.0f} MB at most during 8 x 40 MB header lines; answers {statuses}")
    assert peak - before < 32, f"{before:.0f} -> {peak:.0f} MB"
    assert all(s in (431, None) for s in statuses)  # refused, never served
    assert httpx.get(f"{bounded.url}/healthz", timeout=10).status_code == 200


def test_a_head_or_a_body_that_does_not_arrive_in_time_is_refused_with_408(bounded: Server) -> None:
    with socket.create_connection(host_port(bounded.url)) as slow_head:
        slow_head.sendall(b"POST /telegram HTTP/1.1\r\nHost: bot\r\n")
        started = time.monotonic()
        assert read_status(slow_head) == 408
        assert 1.5 < time.monotonic() - started < 10
    with socket.create_connection(host_port(bounded.url)) as slow_body:
        head = f"POST /telegram HTTP/1.1\r\nHost: bot\r\nX-Telegram-Bot-Api-Secret-Token: {TELEGRAM_SECRET}\r\n"
        slow_body.sendall(head.encode() + b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
        assert read_status(slow_body) == 408
    # A connection that sends nothing at all is closed too.
    with socket.create_connection(host_port(bounded.url)) as silent:
        assert read_status(silent) == 408


def test_clients_that_leave_in_the_middle_of_a_body_leave_no_traceback(bounded: Server) -> None:
    for _ in range(5):
        with socket.create_connection(host_port(bounded.url)) as sock:
            head = "POST /whatsapp HTTP/1.1\r\nHost: bot\r\nX-Twilio-Signature: c2lnbmF0dXJl\r\n"
            sock.sendall(head.encode() + b"Content-Type: application/x-www-form-urlencoded\r\n")
            sock.sendall(b"Content-Length: 5000\r\n\r\nBody=" + b"x" * 1000)
            time.sleep(0.2)
    time.sleep(0.5)
    assert httpx.get(f"{bounded.url}/healthz", timeout=10).status_code == 200
    bounded.stop()
    assert "Traceback" not in bounded.output and "Exception in ASGI application" not in bounded.output
    assert "a client left before its request was read" in bounded.output


def limit_files_to_256() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_300_slow_header_connections_against_a_256_file_limit_leave_room_for_a_genuine_request(
    tmp_path: Path,
) -> None:
    telegram = FakeTelegram()
    server = Server(tmp_path, telegram)
    server.preexec = limit_files_to_256
    server.start()
    slow: list[socket.socket] = []
    try:
        for _ in range(300):
            sock = socket.create_connection(host_port(server.url))
            sock.sendall(b"POST /telegram HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
            slow.append(sock)
        time.sleep(1)
        started = time.monotonic()
        health = httpx.get(f"{server.url}/healthz", timeout=8)
        health_took = time.monotonic() - started
        update = telegram_update(1, "What is the IFHP?")
        answered = httpx.post(f"{server.url}/telegram", json=update, headers=SECRET, timeout=8)
        took = time.monotonic() - started - health_took
        print(f"\n/healthz in {health_took:.2f} s, an update in {took:.2f} s, beside 300 slow heads")
        assert health.status_code == 200 and answered.status_code == 200
        wait_until(lambda: len(telegram.delivered(777001)) == 1, 20)
    finally:
        for sock in slow:
            sock.close()
        server.stop()
        telegram.server.shutdown()
    assert "Traceback" not in server.output


def test_the_bounds_are_settings_and_the_connections_fit_the_file_limit() -> None:
    settings = Settings.from_env({"BOT_MAX_CONNECTIONS": "100000", "BOT_HEADER_TIMEOUT": "5", "BOT_BODY_TIMEOUT": "7"})
    assert (settings.header_timeout, settings.body_timeout) == (5, 7)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert max_connections(settings) == (100000 if soft == resource.RLIM_INFINITY else min(100000, soft - 64))
    assert max_connections(Settings(max_connections=3)) == 3
    for name in ("BOT_MAX_CONNECTIONS", "BOT_HEADER_TIMEOUT", "BOT_BODY_TIMEOUT"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: "0"})


def test_a_queued_telegram_message_with_nothing_to_show_leaves_the_outbox_without_a_call(
    conversations: Conversations, tmp_path: Path
) -> None:
    request = RecordingRequest()
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=request, background=False)
    with conversations.store.transaction():
        conversations._queue(TELEGRAM, "777001", "t", (Outbound("  \n ", "en"),), (), conversations.clock().date())
    asyncio.run(app.state.channels.telegram.deliver())
    assert request.sent() == [] and conversations.store.counts()["outbox"] == 0


def test_a_kept_reply_to_a_volunteer_command_holds_no_phone_number(bot: Bot, tmp_path: Path) -> None:
    settings = channel_settings(tmp_path / "data", volunteer_chat_id=ROOM)
    conversations = build_conversations(settings, bot)
    form = whatsapp_form("SMcases", "/cases", sender="whatsapp:+15145550177")
    post_and_die_before_the_response_leaves(create_app(settings, conversations, background=False), form)
    assert conversations.store.db.conn.execute("SELECT count(*) FROM unsent_replies").fetchone()[0] == 1
    conversations.store.checkpoint()
    data = b"".join(p.read_bytes() for p in (tmp_path / "data").glob(DATABASE_FILE + "*"))
    assert b"5145550177" not in data
    conversations.store.close()
