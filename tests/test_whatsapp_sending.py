"""A volunteer's reply to a person on WhatsApp, sent through twilio's real REST client
and HTTP stack to a local stand-in of Twilio's API (TWILIO_API_BASE_URL) that is slow
and rude like the real one under load: every answer late, 500s and 429s. Delivered after
its retries, or given up after MAX_ATTEMPTS with the volunteers' room told, without the
person's number or words."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.testclient import TestClient

from bot.app import build_conversations
from bot.core import Bot
from bot.server import create_app
from bot.settings import Settings
from bot.whatsapp import MAX_ATTEMPTS, TWILIO_TIMEOUT, RedirectedHttpClient, twilio_client
from tests.conftest import TWILIO_TOKEN, Clock, JsonApi, serve_locally
from tests.test_desk import LEGAL_ES, PHONE, World


class SlowRudeTwilio:
    """Twilio's Messages API on loopback: answers after `delay` seconds, with the next
    status of `script` (500, 429 with Retry-After...) while there is one, then 201."""

    def __init__(self, delay: float = 0.15) -> None:
        self.delay = delay
        self.script: list[int] = []
        self.received: list[tuple[str, str, dict[str, str], int]] = []  # path, auth user, form, status
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonApi):
            def do_POST(self) -> None:
                form = dict(parse_qsl(self.rfile.read(int(self.headers.get("content-length") or 0)).decode()))
                user = base64.b64decode(self.headers.get("authorization", "Basic ").split()[-1]).decode().split(":")[0]
                time.sleep(fake.delay)
                with fake.lock:
                    status = fake.script.pop(0) if fake.script else 201
                    fake.received.append((self.path, user, form, status))
                    n = len(fake.received)
                if status == 201:
                    body: dict[str, Any] = {"sid": f"SM{n:032d}", "status": "queued", "to": form.get("To")}
                else:
                    body = {"code": 20429 if status == 429 else 20500, "message": "Too Many Requests", "status": status}
                self.reply_json(status, body, {"Retry-After": "1"} if status == 429 else None)

        self.server, self.url = serve_locally(Handler)

    def messages(self, status: int | None = None) -> list[dict[str, str]]:
        with self.lock:
            sent = [(f, s) for path, _, f, s in self.received if path.endswith("/Messages.json")]
        return [f for f, s in sent if status is None or s == status]


class LocalTwilioWorld(World):
    """The desk's world, with the Twilio client the server builds from its settings."""

    def start(self) -> None:
        self.conv = build_conversations(self.settings, self.bot, now=self.clock)
        self.app = create_app(self.settings, self.conv, telegram_request=self.telegram, background=False)
        self.client = TestClient(self.app)
        self.client.__enter__()


@pytest.fixture
def twilio() -> Iterator[SlowRudeTwilio]:
    fake = SlowRudeTwilio()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def world(bot: Bot, tmp_path: Path, clock: Clock, twilio: SlowRudeTwilio) -> Iterator[LocalTwilioWorld]:
    w = LocalTwilioWorld(bot, tmp_path, clock, twilio_api_base_url=twilio.url)
    yield w
    w.stop()


def open_claimed_case(world: World) -> str:
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    return case


def retry_until(world: World, condition: Any, rounds: int = 40) -> None:
    for _ in range(rounds):
        if condition():
            return
        world.clock.advance(minutes=6)  # past the longest wait between tries
        world.deliver()
    raise AssertionError("still not done")


def test_the_setting_points_the_rest_client_at_the_base_url() -> None:
    settings = Settings.from_env({"TWILIO_API_BASE_URL": " http://127.0.0.1:8099/ "})
    assert settings.twilio_api_base_url == "http://127.0.0.1:8099"
    assert Settings.from_env({}).twilio_api_base_url == ""
    redirected = twilio_client("AC0000", TWILIO_TOKEN, settings.twilio_api_base_url).http_client
    assert isinstance(redirected, RedirectedHttpClient) and redirected.timeout == TWILIO_TIMEOUT
    plain = twilio_client("AC0000", TWILIO_TOKEN).http_client
    assert not isinstance(plain, RedirectedHttpClient) and plain.timeout == TWILIO_TIMEOUT


def test_a_volunteer_reply_reaches_the_person_through_500s_and_429s(
    world: LocalTwilioWorld, twilio: SlowRudeTwilio
) -> None:
    case = open_claimed_case(world)
    (told,) = twilio.messages(201)  # the person was told of the claim
    assert told["To"] == PHONE and f"#{case}" in told["Body"]
    twilio.script = [500, 429, 503]
    world.volunteer(f"/reply {case} Hola, la ayudo con gusto.")
    retry_until(world, lambda: len(twilio.messages(201)) == 2)
    delivered = twilio.messages(201)[-1]
    assert delivered["To"] == PHONE and delivered["From"] == "whatsapp:+10000000000"
    assert delivered["Body"].endswith("Hola, la ayudo con gusto.")
    assert len(twilio.messages()) == 5  # 1 + three failures + the one that went
    assert {user for _, user, _, _ in twilio.received} == {"AC0000"}
    assert all(path == "/2010-04-01/Accounts/AC0000/Messages.json" for path, _, _, _ in twilio.received)
    assert not any("could not be delivered" in text for text in world.room())
    assert world.conv.store.counts()["outbox"] == 0


def test_a_reply_that_cannot_be_delivered_after_its_retries_is_reported_to_the_room(
    world: LocalTwilioWorld, twilio: SlowRudeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    case = open_claimed_case(world)
    twilio.script = [500, 429] * MAX_ATTEMPTS
    world.volunteer(f"/reply {case} Zqwordmarker, su audiencia es el martes.")
    retry_until(world, lambda: any("could not be delivered" in text for text in world.room()))
    reply_tries = [f for f in twilio.messages() if "Zqwordmarker" in f.get("Body", "")]
    assert len(reply_tries) == MAX_ATTEMPTS and not any(
        "Zqwordmarker" in f.get("Body", "") for f in twilio.messages(201)
    )
    notice = world.room()[-1]
    assert notice == f"A message of #{case} could not be delivered to the person."
    assert world.conv.store.counts()["outbox"] == 0  # given up: not tried for ever
    # Nothing personal in the notice or the log: no number, no words of the reply.
    logged = " ".join(r.getMessage() for r in caplog.records)
    for private in ("5145559876", "Zqwordmarker", TWILIO_TOKEN):
        assert private not in notice and private not in logged
    assert f"given up after {MAX_ATTEMPTS} tries" in logged
    world.clock.advance(minutes=30)
    world.deliver()
    assert len(twilio.messages()) == 1 + MAX_ATTEMPTS  # nothing more


def test_the_room_hears_in_its_own_language(bot: Bot, tmp_path: Path, clock: Clock, twilio: SlowRudeTwilio) -> None:
    world = LocalTwilioWorld(bot, tmp_path, clock, twilio_api_base_url=twilio.url, volunteer_language="fr")
    try:
        case = open_claimed_case(world)
        twilio.script = [503] * MAX_ATTEMPTS
        world.volunteer(f"/reply {case} Hola.")
        retry_until(world, lambda: "n'a pas pu être remis" in world.room()[-1])
        assert len(twilio.messages()) == 1 + MAX_ATTEMPTS
        assert world.room()[-1] == f"Un message du dossier #{case} n'a pas pu être remis à la personne."
    finally:
        world.stop()
