"""WhatsApp at its edges: signed posts that are not messages, malformed fields, a database
that cannot record the message (503, so Twilio delivers it again), and the REST sender
that delivers what the bot starts itself: long replies in pieces, resumed after a
failure without repeating a piece, network errors retried, one delivery pass at a time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from bot.conversation import WHATSAPP, Conversations
from bot.messages import Outbound
from bot.server import create_app
from bot.splitting import WHATSAPP_LIMIT
from bot.whatsapp import WhatsAppSender
from tests.conftest import (
    TWILIO_TOKEN,
    RecordingTwilio,
    channel_settings,
    signed_whatsapp,
    twiml_messages,
    whatsapp_form,
    write_lock_held,
)

PHONE = "whatsapp:+15145550123"
SENDER = "whatsapp:+10000000000"


@pytest.fixture
def client(conversations: Conversations, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(channel_settings(tmp_path), conversations, background=False)
    with TestClient(app) as c:
        yield c


def post(client: TestClient, form: dict[str, str]) -> Any:
    return client.post("/whatsapp", data=form, headers=signed_whatsapp(form))


messages = twiml_messages


# -- the webhook ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_a_signed_post_that_is_not_a_message_is_acknowledged_with_empty_twiml_and_not_recorded(
    client: TestClient, conversations: Conversations, missing: str
) -> None:
    """Twilio also posts status callbacks and the like to a webhook: they are accepted
    (so Twilio does not retry) and nothing is answered or kept."""
    form = whatsapp_form("SM1", "What is the IFHP?")
    form.pop(missing)
    if missing == "MessageSid":
        form.pop("SmsMessageSid")
    response = post(client, form)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert messages(response.text) == []
    assert conversations.store.counts()["events"] == 0 and conversations.store.counts()["users"] == 0


def test_the_older_smsmessagesid_alone_identifies_the_message(client: TestClient) -> None:
    form = whatsapp_form("SM7", "What is the IFHP?")
    form.pop("MessageSid")
    assert "[1]" in "".join(messages(post(client, form).text))
    assert messages(post(client, form).text) == []  # the same SmsMessageSid again: a redelivery


def test_a_malformed_nummedia_does_not_keep_a_question_from_being_answered(client: TestClient) -> None:
    response = post(client, whatsapp_form("SM1", "What is the IFHP?", NumMedia="one"))
    assert "[1]" in "".join(messages(response.text))


def test_a_location_or_contact_without_text_gets_the_text_only_reply(client: TestClient) -> None:
    response = post(client, whatsapp_form("SM1", "", NumMedia="", Address="123 Main St"))
    assert "text" in messages(response.text)[-1]


def test_a_message_that_cannot_be_recorded_gets_503_and_its_redelivery_is_answered_once(
    client: TestClient, conversations: Conversations, tmp_path: Path
) -> None:
    """Another process holds the database's write lock past the busy timeout."""
    form = whatsapp_form("SM9", "What is the IFHP?")
    with write_lock_held(tmp_path, conversations.store):
        assert post(client, form).status_code == 503
    assert conversations.store.counts()["events"] == 0  # not recorded: Twilio will send it again
    assert "[1]" in "".join(messages(post(client, form).text))
    assert messages(post(client, form).text) == []


# -- the REST sender -----------------------------------------------------------------


class FlakyTwilio(RecordingTwilio):
    """Twilio's edge: `errors` raises network errors before the normal answers, and
    `fail_at` fails the n-th request (1-based) with the given answer."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[Exception] = []
        self.fail_at: dict[int, tuple[int, dict[str, Any]]] = {}
        self.attempts = 0

    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        if self.attempts in self.fail_at:
            self.failures.append(self.fail_at.pop(self.attempts))
        return super().request(method, uri, *args, **kwargs)


def queue(conversations: Conversations, text: str, address: str = PHONE) -> None:
    payload = json.dumps({"address": address, "message": Outbound(text, "es", case="A7K2").to_json()})
    with conversations.store.transaction():
        conversations.store.enqueue(WHATSAPP, "thread", conversations.keys.seal(payload.encode()), date(2026, 11, 21))


def sender(conversations: Conversations, twilio: RecordingTwilio) -> WhatsAppSender:
    return WhatsAppSender(conversations, Client("AC0000", TWILIO_TOKEN, http_client=twilio), SENDER)


def test_a_long_reply_leaves_in_pieces_and_resumes_after_a_failure_without_repeating_one(
    conversations: Conversations, clock: Any
) -> None:
    long_text = "\n\n".join(f"Párrafo {n}. " + "La persona voluntaria explica el trámite. " * 12 for n in range(9))
    assert len(long_text) > 2 * WHATSAPP_LIMIT
    queue(conversations, long_text)
    twilio = FlakyTwilio()
    twilio.fail_at[2] = (503, {"code": 20503, "message": "Service Unavailable", "status": 503})
    whatsapp = sender(conversations, twilio)
    asyncio.run(whatsapp.deliver())
    assert len(twilio.sent()) == 2 and conversations.store.counts()["outbox"] == 1  # piece 2 failed
    clock.advance(seconds=1)
    asyncio.run(whatsapp.deliver())
    bodies = [m["Body"] for m in twilio.sent()]
    pieces = [bodies[0], *bodies[2:]]  # the failed second attempt is not a delivery
    assert bodies[1] == bodies[2]
    assert len(set(pieces)) == len(pieces) >= 3
    assert all(len(p) <= WHATSAPP_LIMIT for p in pieces)
    assert " ".join(pieces).split() == long_text.split()
    assert all(m["To"] == PHONE and m["From"] == SENDER for m in twilio.sent())
    assert conversations.store.counts()["outbox"] == 0


def test_a_network_error_keeps_the_message_for_a_later_attempt_with_back_off(
    conversations: Conversations, clock: Any
) -> None:
    queue(conversations, "Primero")
    twilio = FlakyTwilio()
    twilio.errors.append(ConnectionError("network unreachable"))
    whatsapp = sender(conversations, twilio)
    asyncio.run(whatsapp.deliver())
    assert twilio.sent() == [] and conversations.store.counts()["outbox"] == 1
    asyncio.run(whatsapp.deliver())
    assert twilio.attempts == 1  # backing off: not due yet
    clock.advance(seconds=1)
    asyncio.run(whatsapp.deliver())
    assert [m["Body"] for m in twilio.sent()] == ["Primero"]
    assert conversations.store.counts()["outbox"] == 0


def test_a_persons_later_message_never_overtakes_one_waiting_to_be_retried(
    conversations: Conversations, clock: Any
) -> None:
    queue(conversations, "Primero")
    queue(conversations, "Segundo")
    twilio = FlakyTwilio()
    twilio.errors.append(ConnectionError("network unreachable"))
    whatsapp = sender(conversations, twilio)
    asyncio.run(whatsapp.deliver())  # "Primero" fails and backs off for a second
    asyncio.run(whatsapp.deliver())  # another pass (a new message, the worker) within that second
    clock.advance(seconds=1)
    asyncio.run(whatsapp.deliver())
    assert [m["Body"] for m in twilio.sent()] == ["Primero", "Segundo"]


def test_two_delivery_passes_at_once_send_each_message_once(conversations: Conversations) -> None:
    for n in range(3):
        queue(conversations, f"Mensaje {n}")
    twilio = RecordingTwilio()
    whatsapp = sender(conversations, twilio)

    async def both() -> None:
        await asyncio.gather(whatsapp.deliver(), whatsapp.deliver())

    asyncio.run(both())
    assert [m["Body"] for m in twilio.sent()] == ["Mensaje 0", "Mensaje 1", "Mensaje 2"]
    assert conversations.store.counts()["outbox"] == 0
