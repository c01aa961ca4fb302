"""`python -m bot serve` as a process on loopback, as an organisation runs it: a fake
Bot API server stands in for Telegram (through TELEGRAM_API_BASE_URL), Twilio's side
is played by signed requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qsl

import httpx
import pytest

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


class FakeBotAPI(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        params = json.loads(body) if body.startswith("{") else dict(parse_qsl(body))
        method = self.path.rsplit("/", 1)[-1]
        self.calls.append((method, params))
        result: object = True
        if method == "sendMessage":
            result = {"message_id": len(self.calls), "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def fake_telegram() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBotAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", FakeBotAPI.calls
    server.shutdown()


@pytest.fixture(scope="module")
def served(
    fake_telegram: tuple[str, list[tuple[str, dict[str, str]]]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("data")
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(data),
        "BOT_TODAY": "2026-11-21",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fake_telegram[0],
        "TWILIO_ACCOUNT_SID": "AC0000",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+10000000000",
        "PUBLIC_BASE_URL": PUBLIC_URL,
    }
    env.pop("BOT_PEPPER", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(process.communicate()[0].decode(errors="replace"))
    yield base
    process.terminate()
    output = process.communicate(timeout=10)[0].decode(errors="replace")
    (data / "server.log").write_text(output)
    # What the server logged, start to end: no token, no number, no question.
    for secret in (TELEGRAM_TOKEN, TWILIO_TOKEN, "5145550123", "777001", "visa"):
        assert secret not in output
    assert (data / "pepper").exists() and oct((data / "pepper").stat().st_mode)[-3:] == "600"


def twiml_messages(text: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(text).iter("Message")]


def test_a_signed_spanish_whatsapp_question_gets_a_spanish_twiml_answer_with_citations(served: str) -> None:
    form = whatsapp_form("SMe2e1", "¿Cuánto tiempo es válida la visa de residente temporal para Gaza?")
    response = httpx.post(f"{served}/whatsapp", data=form, headers=signed_whatsapp(form))
    assert response.status_code == 200
    text = "".join(twiml_messages(response.text))
    assert "Fuente" in text and "[1]" in text and "información general" in text
    again = httpx.post(f"{served}/whatsapp", data=form, headers=signed_whatsapp(form))
    assert again.status_code == 200 and twiml_messages(again.text) == []


def test_an_unsigned_whatsapp_request_gets_403(served: str) -> None:
    form = whatsapp_form("SMe2e2", "Hola")
    assert httpx.post(f"{served}/whatsapp", data=form).status_code == 403


def test_telegram_without_the_secret_gets_403_and_with_it_one_sendmessage(
    served: str, fake_telegram: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    calls = fake_telegram[1]
    update = telegram_update(501, "Who is eligible for the Gaza special measures?")
    assert httpx.post(f"{served}/telegram", json=update).status_code == 403
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert httpx.post(f"{served}/telegram", json=update, headers=headers).status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(m == "sendMessage" for m, _ in calls):
        time.sleep(0.05)
    time.sleep(0.3)  # room for a second, wrong, send to show up
    sends = [p for m, p in calls if m == "sendMessage"]
    assert len(sends) == 1
    assert str(sends[0]["chat_id"]) == "777001" and "Gaza" in sends[0]["text"]
    assert any(m == "setWebhook" for m, _ in calls)


def test_healthz_reports_the_knowledge_base(served: str) -> None:
    report = httpx.get(f"{served}/healthz").json()
    assert report["database"] == "ok" and report["knowledge_base"]["passages"] > 100
