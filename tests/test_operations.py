"""Operating the server: it never serves a knowledge base that `kb check` rejects, it
stops within 5 s on SIGINT or SIGTERM in every mode (against a Bot API that answers
`getUpdates` at once), `setWebhook` is retried with back-off, and `/healthz` and the log
tell the truth about each channel and the desk.

`python -m bot serve` runs as a real process; a small local HTTP server plays the Bot API
(through TELEGRAM_API_BASE_URL), answering at once, or failing the first calls."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_URL, ROOM, ROOT, TELEGRAM_SECRET, TELEGRAM_TOKEN, TWILIO_TOKEN, JsonApi, serve_locally

STOP_WITHIN = 5.0


class FastBotApi:
    """A Bot API that answers every call at once: `getUpdates` with no update (so a
    polling loop spins as fast as it can; or held open `hold` seconds, as Telegram
    does), `setWebhook` with 502 for its first `failing_webhooks` calls."""

    def __init__(self, failing_webhooks: int = 0, hold: float = 0.0) -> None:
        self.failing_webhooks = failing_webhooks
        self.hold = hold  # seconds getUpdates is held open, as Telegram does (0: at once)
        self.calls: list[tuple[str, float, int]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonApi):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                method = self.path.rsplit("/", 1)[-1]
                with fake.lock:
                    earlier = sum(1 for m, _, _ in fake.calls if m == method)
                    status = 502 if method == "setWebhook" and earlier < fake.failing_webhooks else 200
                    fake.calls.append((method, time.monotonic(), status))
                if method == "getUpdates" and fake.hold:
                    time.sleep(fake.hold)
                result: object = [] if method == "getUpdates" else True
                if method == "getMe":
                    result = {"id": 1, "is_bot": True, "first_name": "bot", "username": "test_bot"}
                body = (
                    {"ok": True, "result": result}
                    if status == 200
                    else {"ok": False, "error_code": status, "description": "Bad Gateway"}
                )
                self.reply_json(status, body)

        self.server, self.url = serve_locally(Handler)

    def count(self, method: str, status: int | None = None) -> int:
        with self.lock:
            return sum(1 for m, _, s in self.calls if m == method and (status is None or s == status))

    def times(self, method: str) -> list[float]:
        with self.lock:
            return [t for m, t, _ in self.calls if m == method]


@pytest.fixture
def api() -> Iterator[FastBotApi]:
    fake = FastBotApi()
    yield fake
    fake.server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(data: Path, api_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(data),
        "BOT_TODAY": "2026-11-21",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": api_url,
        **extra,
    }
    for name in ("BOT_PEPPER", "TWILIO_AUTH_TOKEN", "VOLUNTEER_CHAT_ID", "PUBLIC_BASE_URL", "TELEGRAM_WEBHOOK_SECRET"):
        if name not in extra:
            env.pop(name, None)
    return env


class Served:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(self.port), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output = ""

    def health(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.url}/healthz", timeout=1)
        except httpx.TransportError:
            return None
        return dict(response.json())

    def wait_healthy(self, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.finish()
                raise AssertionError(f"the server stopped: {self.output}")
            report = self.health()
            if report is not None:
                return report
            time.sleep(0.1)
        raise AssertionError("the server did not answer /healthz")

    def stop_with(self, sig: signal.Signals) -> float:
        """Seconds from the signal to the end of the process (killed after 20 s)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        took = time.monotonic() - started
        self.finish()
        return took

    def finish(self) -> None:
        if self.process.stdout is not None:
            self.output += self.process.stdout.read().decode(errors="replace")
            self.process.stdout.close()


# -- never serve what kb check rejects ------------------------------------------------------


def test_serve_refuses_to_start_on_a_knowledge_base_that_kb_check_rejects(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "knowledge", checkout / "knowledge")
    shutil.copytree(ROOT / "seeds", checkout / "seeds")
    passages = checkout / "knowledge" / "passages" / "note-interim-federal-health-program.yaml"
    text = passages.read_text(encoding="utf-8")
    vetted = "ni ses horaires, ni"
    assert vetted in text
    # An invented opening hour in a vetted French text: a figure the English text does not state.
    passages.write_text(text.replace(vetted, "ouvert jusqu'à 18 h, ni", 1), encoding="utf-8")
    env = environment(tmp_path / "data", "http://telegram.invalid", BOT_KNOWLEDGE_DIR=str(checkout / "knowledge"))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "note-interim-federal-health-program.yaml:" in done.stderr and "18" in done.stderr
    assert "not serving: kb check found 1 problem(s)" in done.stderr
    assert "Uvicorn running" not in done.stderr + done.stdout
    # The same checkout, put right, serves.
    passages.write_text(text, encoding="utf-8")
    served = Served(env)
    try:
        assert served.wait_healthy()["status"] == "ok"
    finally:
        served.stop_with(signal.SIGTERM)


# -- clean shutdown -------------------------------------------------------------------------


def wait_until(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def stops_cleanly(served: Served, sig: signal.Signals) -> None:
    took = served.stop_with(sig)
    assert took < STOP_WITHIN, f"{took:.1f} s: {served.output}"
    # uvicorn ends by raising the signal it caught again: SIGTERM's default is to end with it.
    assert served.process.returncode in (0, -sig), served.output
    assert "Traceback" not in served.output
    assert "Shutting down" in served.output and "did not stop" not in served.output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_polling_stops_within_5_s_against_a_bot_api_that_answers_at_once(
    api: FastBotApi, tmp_path: Path, sig: signal.Signals
) -> None:
    served = Served(environment(tmp_path / "data", api.url), "--polling")
    assert served.wait_healthy()["channels"]["telegram"] == "polling"
    wait_until(lambda: api.count("getUpdates") >= 20)  # the loop spins: nothing holds a call open
    stops_cleanly(served, sig)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_polling_stops_within_5_s_while_telegram_holds_getupdates_open(
    tmp_path: Path, sig: signal.Signals
) -> None:
    api = FastBotApi(hold=25.0)
    try:
        served = Served(environment(tmp_path / "data", api.url), "--polling")
        served.wait_healthy()
        wait_until(lambda: api.count("getUpdates") >= 1)
        time.sleep(0.3)  # the call is in flight
        stops_cleanly(served, sig)
    finally:
        api.server.shutdown()


def webhook_environment(data: Path, api: FastBotApi, **extra: str) -> dict[str, str]:
    return environment(
        data,
        api.url,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        PUBLIC_BASE_URL=PUBLIC_URL,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        **extra,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_with_a_webhook_stops_within_5_s(api: FastBotApi, tmp_path: Path, sig: signal.Signals) -> None:
    served = Served(webhook_environment(tmp_path / "data", api))
    assert served.wait_healthy()["channels"] == {"telegram": "webhook", "whatsapp": "on"}
    # A keep-alive client still connected does not hold the shutdown.
    with httpx.Client() as client:
        assert client.get(f"{served.url}/healthz").status_code == 200
        stops_cleanly(served, sig)


# -- setWebhook retried, /healthz and the log tell the truth --------------------------------


def test_a_failing_setwebhook_is_retried_with_back_off_and_healthz_says_so_until_it_is_set(tmp_path: Path) -> None:
    api = FastBotApi(failing_webhooks=3)
    try:
        served = Served(webhook_environment(tmp_path / "data", api, VOLUNTEER_CHAT_ID=str(ROOM)))
        report = served.wait_healthy()
        if api.count("setWebhook", 200) == 0:
            assert report["channels"]["telegram"] == "webhook not set"
        wait_until(lambda: api.count("setWebhook", 200) == 1)
        wait_until(lambda: (served.health() or {}).get("channels", {}).get("telegram") == "webhook", 5)
        now = served.health()
        assert now is not None and now["desk"] == "on" and now["whatsapp_replies"] == "off"
        assert api.count("setWebhook") == 4
        times = api.times("setWebhook")
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps[0] >= 0.9 and all(later > earlier * 1.5 for earlier, later in itertools.pairwise(gaps))
        time.sleep(0.5)
        assert api.count("setWebhook") == 4  # set: no more calls
        stops_cleanly(served, signal.SIGTERM)
    finally:
        api.server.shutdown()
    log = served.output
    assert log.count("telegram webhook not set (") == 3 and log.count("telegram webhook set") == 1
    # One line each for the channels and the desk, on or off; no secret, no chat id.
    assert log.count("telegram on: webhook") == 1
    assert log.count("whatsapp on; whatsapp replies from volunteers off") == 1
    assert log.count("volunteer desk on") == 1
    for secret in (TELEGRAM_TOKEN, TELEGRAM_SECRET, TWILIO_TOKEN, str(ROOM)):
        assert secret not in log


def test_healthz_and_the_log_say_what_is_off(api: FastBotApi, tmp_path: Path) -> None:
    served = Served(environment(tmp_path / "data", api.url))  # no secret, no public address
    report = served.wait_healthy()
    assert report["channels"] == {"telegram": "webhook not set", "whatsapp": "off"}
    assert report["desk"] == "off" and report["whatsapp_replies"] == "off"
    stops_cleanly(served, signal.SIGINT)
    assert api.count("setWebhook") == 0
    log = served.output
    assert log.count("telegram webhook off: TELEGRAM_WEBHOOK_SECRET is not set") == 1
    assert log.count("whatsapp off: TWILIO_AUTH_TOKEN is not set") == 1
    assert log.count("volunteer desk off: VOLUNTEER_CHAT_ID is not set") == 1


def test_in_process_a_refused_setwebhook_is_tried_again_until_healthz_can_say_webhook(
    conversations: Any, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from bot.server import create_app
    from tests.conftest import RecordingRequest, channel_settings

    telegram = RecordingRequest()
    refused = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    telegram.failures += [(502, refused), (502, refused)]
    app = create_app(channel_settings(tmp_path, volunteer_chat_id=ROOM), conversations, telegram_request=telegram)
    with TestClient(app) as client:
        report = client.get("/healthz").json()
        assert report["channels"]["telegram"] == "webhook not set" and report["desk"] == "on"
        assert report["whatsapp_replies"] == "on"
        wait_until(lambda: client.get("/healthz").json()["channels"]["telegram"] == "webhook", 10)
    assert sum(c.method == "setWebhook" for c in telegram.calls) == 3


# -- the volunteers' group id, in webhook mode --------------------------------------------

GROUP = -1001234509876


def group_update(update_id: int, text: str, language_code: str = "fr", chat_id: int = GROUP) -> dict[str, Any]:
    from tests.conftest import telegram_update

    update = telegram_update(update_id, text, user_id=4343001, language_code=language_code, chat_type="supergroup")
    update["message"]["chat"] = {"id": chat_id, "type": "supergroup", "title": "Bénévoles"}
    return update


def test_groupid_in_a_group_answers_only_the_group_id_and_nothing_in_private(
    conversations: Any, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from bot.server import create_app
    from tests.conftest import RecordingRequest, channel_settings, telegram_update

    telegram = RecordingRequest()
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=telegram, background=False)
    secret = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    with TestClient(app) as client:
        for n, (text, language) in enumerate(
            [("/groupid", "fr"), ("/groupid@newcomer_test_bot", "ar"), ("/groupid", "xx"), ("hello all", "en")], 1
        ):
            assert client.post("/telegram", json=group_update(n, text, language), headers=secret).status_code == 200
        assert client.post("/telegram", json=telegram_update(9, "/groupid"), headers=secret).status_code == 200
    to_group = [p for p in telegram.sent() if p["chat_id"] == GROUP]
    assert [p["text"] for p in to_group] == [
        f"Identifiant de ce groupe : {GROUP}",
        f"\u200fمعرّف هذه المجموعة: {GROUP}",
        f"This group's id: {GROUP}",  # a language the bot does not have: English
    ]
    in_private = [str(p["text"]) for p in telegram.sent() if p["chat_id"] == 777001]
    assert in_private and all(str(GROUP) not in text and "group's id" not in text for text in in_private)
    assert conversations.store.counts()["users"] == 1  # the group's messages recorded no one


def test_groupid_works_while_polling_too(conversations: Any, tmp_path: Path) -> None:
    import asyncio

    from bot.server import create_app
    from tests.conftest import RecordingRequest, channel_settings

    class OnePoll(RecordingRequest):
        polls = 0

        async def do_request(  # type: ignore[override]
            self, url: str, method: str, request_data: Any = None, **timeouts: Any
        ) -> tuple[int, bytes]:
            if url.endswith("/getUpdates"):
                self.polls += 1
                if self.polls > 1:
                    raise asyncio.CancelledError  # the script is done: the poller stops
                return 200, json.dumps({"ok": True, "result": [group_update(5, "/groupid", "es")]}).encode()
            return await super().do_request(url, method, request_data, **timeouts)

    telegram = OnePoll()
    settings = channel_settings(tmp_path)
    app = create_app(settings, conversations, polling=True, telegram_request=telegram, background=False)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(app.state.channels.telegram.poll())
    assert [p["text"] for p in telegram.sent()] == [f"Identificador de este grupo: {GROUP}"]
    assert conversations.store.counts()["events"] == 0


def test_a_signal_arms_the_deadline_beside_the_servers_own_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.server as server

    seen: list[int] = []
    exited = threading.Event()
    monkeypatch.setattr(server, "SHUTDOWN_DEADLINE", 0.05)
    monkeypatch.setattr(server, "_exit_now", exited.set)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in saved:
            signal.signal(sig, lambda signum, frame: seen.append(signum))
        server._bound_shutdown()
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        handler(signal.SIGTERM, None)
        assert seen == [signal.SIGTERM]  # uvicorn's handler still runs first
        assert exited.wait(2)  # and the deadline fires if the process is still there
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
