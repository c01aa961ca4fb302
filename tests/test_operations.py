"""Operating the server: it never serves a knowledge base that `kb check` rejects, it
stops within 5 s on SIGINT or SIGTERM in every mode (against a Bot API that answers
`getUpdates` at once), `setWebhook` is retried with back-off, and `/healthz` and the log
tell the truth about each channel and the desk.

`python -m bot serve` runs as a real process; a small local HTTP server plays the Bot API
(through TELEGRAM_API_BASE_URL), answering at once, or failing the first calls."""

from __future__ import annotations

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, TELEGRAM_TOKEN

STOP_WITHIN = 5.0


class FastBotApi:
    """A Bot API that answers every call at once: `getUpdates` with no update (so a
    polling loop spins as fast as it can), `setWebhook` with 502 for its first
    `failing_webhooks` calls."""

    def __init__(self, failing_webhooks: int = 0) -> None:
        self.failing_webhooks = failing_webhooks
        self.calls: list[tuple[str, float, int]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                method = self.path.rsplit("/", 1)[-1]
                with fake.lock:
                    earlier = sum(1 for m, _, _ in fake.calls if m == method)
                    status = 502 if method == "setWebhook" and earlier < fake.failing_webhooks else 200
                    fake.calls.append((method, time.monotonic(), status))
                result: object = [] if method == "getUpdates" else True
                if method == "getMe":
                    result = {"id": 1, "is_bot": True, "first_name": "bot", "username": "test_bot"}
                body = (
                    {"ok": True, "result": result}
                    if status == 200
                    else {"ok": False, "error_code": status, "description": "Bad Gateway"}
                )
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

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
