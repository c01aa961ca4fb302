"""Load benchmark: signed WhatsApp webhooks against `python -m bot serve` on loopback,
next to an empty Starlette endpoint measured in the same run.

    .venv/bin/python tests/benchmarks/bench_webhooks.py [--concurrency 20] [--seconds 10]

Both servers run as separate uvicorn processes with the same options; the load comes
from this process (a minimal keep-alive HTTP client on asyncio). Each request is a distinct, correctly signed Twilio
form with a real question from knowledge/calibration.yaml, in all four languages, from
one of the concurrent senders. The ratio of the two throughputs is the figure that
matters on a shared machine; the issue's target is at least 40% of the empty endpoint's
throughput and p99 under 50 ms at 20 concurrent senders on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
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
PUBLIC = "https://bench.example.org"

EMPTY_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def whatsapp(request):
        await request.body()
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', media_type="application/xml")

    app = Starlette(routes=[Route("/whatsapp", whatsapp, methods=["POST"])])
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server not up: {url}")


def questions() -> list[str]:
    cases = yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text(encoding="utf-8"))
    return [c["q"] for c in cases]


def requests_for(count: int, senders: int, tag: str) -> list[tuple[bytes, str]]:
    """Signed forms with MessageSids unique to one measurement: nothing is a duplicate."""
    validator = RequestValidator(TOKEN)
    pool = questions()
    out = []
    for n in range(count):
        form = {
            "MessageSid": f"SM{tag}{n:08d}",
            "AccountSid": "ACbench",
            "From": f"whatsapp:+1514555{n % senders:04d}",
            "To": "whatsapp:+10000000000",
            "Body": pool[n % len(pool)],
            "NumMedia": "0",
        }
        out.append((urlencode(form).encode(), validator.compute_signature(PUBLIC + "/whatsapp", form)))
    return out


async def load(port: int, requests: list[tuple[bytes, str]], concurrency: int, seconds: float) -> dict[str, float]:
    """`concurrency` keep-alive connections, each sending its next request as soon as the
    previous answer is read. A minimal HTTP/1.1 client on asyncio streams: a general
    client (httpx) costs more CPU per request than the server under test, and would
    measure itself."""
    latencies: list[float] = []
    errors = 0
    position = 0
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        nonlocal position, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and position < len(requests):
                body, signature = requests[position]
                position += 1
                head = (
                    f"POST /whatsapp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
                )
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="20", help="comma-separated sender counts (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per measurement (default 10)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        bot_port, empty_port = free_port(), free_port()
        env = {
            **os.environ,
            "BOT_DATA_DIR": str(Path(tmp) / "data"),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC,
            # Each sender writes far more than a person would: no throttling here.
            "BOT_RATE_LIMIT": "1000000",
            "BOT_LOG_LEVEL": "WARNING",
        }
        env.pop("TELEGRAM_BOT_TOKEN", None)
        (Path(tmp) / "empty_app.py").write_text(EMPTY_APP)
        bot = start([sys.executable, "-m", "bot", "serve", "--port", str(bot_port)], env, ROOT)
        empty = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "empty_app:app",
                "--port",
                str(empty_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env,
            Path(tmp),
        )
        try:
            wait_until_up(f"http://127.0.0.1:{bot_port}/healthz", bot)
            wait_until_up(f"http://127.0.0.1:{empty_port}/", empty)
            print(f"{'endpoint':<22}{'senders':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
            for concurrency in levels:
                budget = int(args.seconds * 8000) + 50
                results = {}
                for name, port in (("empty Starlette", empty_port), ("bot /whatsapp", bot_port)):
                    requests = requests_for(budget, concurrency, f"{name[:1]}{concurrency}")
                    asyncio.run(load(port, requests[:50], concurrency, 2))  # warm-up
                    results[name] = asyncio.run(
                        load(port, requests[50:], concurrency, args.seconds)
                    )
                    r = results[name]
                    print(
                        f"{name:<22}{concurrency:>8}{r['requests']:>10.0f}{r['throughput']:>9.0f}"
                        f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8.0f}"
                    )
                ratio = results["bot /whatsapp"]["throughput"] / results["empty Starlette"]["throughput"]
                print(f"{'ratio bot / empty':<22}{concurrency:>8}{ratio:>28.0%}")
        finally:
            for process in (bot, empty):
                process.terminate()
                process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
