"""End-to-end load: signed WhatsApp and Telegram webhooks against `python -m bot serve` on
loopback, next to an empty Starlette endpoint measured in the same run.

    .venv/bin/python tests/benchmarks/bench_webhooks.py [--concurrency 1,20,100] [--seconds 10]

The bot and the empty endpoint run as separate uvicorn processes with the same options;
so does, for WhatsApp, a "floor" endpoint that does only what any correct webhook must
(parse, check the signature, record the MessageSid durably, reply empty TwiML). A fake
Bot API (another process) answers the bot's sendMessage calls. The load comes
from this process: a minimal keep-alive HTTP/1.1 client on asyncio (a general client
such as httpx costs more CPU per request than the server under test, and would measure
itself). Each request is distinct and correctly signed, with a real question from
knowledge/calibration.yaml in all four languages, from one of the concurrent senders
(rate limit lifted: a sender here writes far more than a person would). Also printed:
the server's start-up time to a healthy /healthz and its resident memory after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-twilio-auth-token"
SECRET = "bench-webhook-secret"
PUBLIC = "https://bench.example.org"

# The same two routes, doing nothing: what Starlette and uvicorn cost by themselves.
EMPTY_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def whatsapp(request):
        await request.body()
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', media_type="application/xml")

    async def telegram(request):
        await request.body()
        return Response(status_code=200)

    app = Starlette(routes=[Route("/whatsapp", whatsapp, methods=["POST"]),
                           Route("/telegram", telegram, methods=["POST"])])
    """
)

# What any correct WhatsApp webhook must do before it can answer, and nothing more: the
# form parsed, Twilio's signature checked (one HMAC, as the bot does), the MessageSid
# recorded durably so that a redelivery is not answered twice (SQLite in WAL mode, the
# bot's settings, one immediate transaction), and an empty TwiML reply. The gap between
# this and the empty endpoint is the floor no answering bot goes below.
FLOOR_APP = textwrap.dedent(
    """
    import os, sqlite3
    from urllib.parse import parse_qsl
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    url = os.environ["PUBLIC_BASE_URL"] + "/whatsapp"
    db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS events (key TEXT PRIMARY KEY, day TEXT)")

    async def whatsapp(request):
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if validator.compute_signature(url, form) != request.headers.get("x-twilio-signature"):
            return Response(status_code=403)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR IGNORE INTO events VALUES (?, '2026-01-01')", (form["MessageSid"],))
        db.execute("COMMIT")
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', media_type="application/xml")

    app = Starlette(routes=[Route("/whatsapp", whatsapp, methods=["POST"])])
    """
)

FAKE_BOT_API = textwrap.dedent(
    """
    import json
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    SENT = {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}}

    async def method(request):
        await request.body()
        return Response(json.dumps(SENT), media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", method, methods=["POST"])])
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)
    raise SystemExit(f"server not up: {url}")


def questions() -> list[str]:
    cases = yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8"))
    return [c["q"] for c in cases]


def whatsapp_requests(count: int, senders: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    """Signed forms with MessageSids unique to one measurement: nothing is a duplicate."""
    validator = RequestValidator(TOKEN)
    pool = questions()
    out = []
    for n in range(count):
        form = {
            "MessageSid": "SM" + hashlib.md5(f"{tag}-{n}".encode()).hexdigest(),
            "AccountSid": "ACbench",
            "From": f"whatsapp:+1514555{n % senders:04d}",
            "To": "whatsapp:+10000000000",
            "Body": pool[n % len(pool)],
            "NumMedia": "0",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(PUBLIC + "/whatsapp", form),
        }
        out.append((urlencode(form).encode(), headers))
    return out


def telegram_requests(count: int, senders: int, base: int) -> list[tuple[bytes, dict[str, str]]]:
    pool = questions()
    out = []
    for n in range(count):
        user = 900_000 + n % senders
        update = {
            "update_id": base + n,
            "message": {
                "message_id": n,
                "date": 1763726400,
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": "B", "language_code": "en"},
                "text": pool[n % len(pool)],
            },
        }
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        out.append((json.dumps(update).encode(), headers))
    return out


async def load(
    port: int, path: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int, seconds: float
) -> dict[str, float]:
    """`concurrency` keep-alive connections, each sending its next request as soon as
    the previous answer is read."""
    latencies: list[float] = []
    errors = 0
    position = 0
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        nonlocal position, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and position < len(requests):
                body, headers = requests[position]
                position += 1
                head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                start = time.perf_counter()
                writer.write(head.encode() + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if b" 200 " not in status_line:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "throughput": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": errors,
    }


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def uvicorn(app: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--no-access-log", "--log-level", "warning"]
    return start(command, env, cwd)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,20,100", help="comma-separated sender counts (default 1,20,100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per measurement (default 10)")
    parser.add_argument("--channels", default="whatsapp,telegram", help="whatsapp, telegram or both (default)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    channels = args.channels.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bot_port, empty_port, floor_port, api_port = free_port(), free_port(), free_port(), free_port()
        (work / "empty_app.py").write_text(EMPTY_APP)
        (work / "floor_app.py").write_text(FLOOR_APP)
        (work / "fake_bot_api.py").write_text(FAKE_BOT_API)
        env = {
            **os.environ,
            "BOT_DATA_DIR": str(work / "data"),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC,
            "TELEGRAM_BOT_TOKEN": "1:bench",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api_port}",
            "BOT_RATE_LIMIT": "1000000",
            "BOT_LOG_LEVEL": "WARNING",
            "FLOOR_DB": str(work / "floor.db"),
        }
        api = uvicorn("fake_bot_api:app", api_port, env, work)
        empty = uvicorn("empty_app:app", empty_port, env, work)
        floor = uvicorn("floor_app:app", floor_port, env, work)
        wait_until_up(f"http://127.0.0.1:{api_port}/", api)
        wait_until_up(f"http://127.0.0.1:{empty_port}/", empty)
        wait_until_up(f"http://127.0.0.1:{floor_port}/", floor)
        bot = start([sys.executable, "-m", "bot", "serve", "--port", str(bot_port)], env, ROOT)
        try:
            startup = wait_until_up(f"http://127.0.0.1:{bot_port}/healthz", bot)
            print(f"python -m bot serve: start-up to a healthy /healthz {startup:.2f} s, RSS {rss_mb(bot.pid):.0f} MB")
            print(f"{'endpoint':<26}{'senders':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
            update_base = 1
            for channel in channels:
                path = f"/{channel}"
                for concurrency in levels:
                    results = {}
                    endpoints = [("empty Starlette", empty_port), ("bot", bot_port)]
                    if channel == "whatsapp":
                        endpoints.insert(1, ("floor", floor_port))
                    for name, port in endpoints:
                        # Enough distinct requests for the fastest endpoint's whole run.
                        budget = int(args.seconds * (30_000 if name == "empty Starlette" else 8_000)) + 100
                        if channel == "whatsapp":
                            requests = whatsapp_requests(budget, concurrency, f"{name[:1]}{concurrency}")
                        else:
                            requests = telegram_requests(budget, concurrency, update_base)
                            update_base += budget
                        asyncio.run(load(port, path, requests[:100], concurrency, 2))  # warm-up
                        results[name] = r = asyncio.run(load(port, path, requests[100:], concurrency, args.seconds))
                        label = f"{name} {path}"
                        print(
                            f"{label:<26}{concurrency:>8}{r['requests']:>10.0f}{r['throughput']:>9.0f}"
                            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8.0f}"
                        )
                    empty_rate = results["empty Starlette"]["throughput"]
                    for name in ("floor", "bot"):
                        if name in results:
                            ratio = results[name]["throughput"] / empty_rate
                            print(f"{f'ratio {name} / empty':<26}{concurrency:>8}{ratio:>19.1%}")
            print(f"python -m bot serve: RSS after the load {rss_mb(bot.pid):.0f} MB")
        finally:
            for process in (bot, empty, floor, api):
                process.terminate()
                process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
