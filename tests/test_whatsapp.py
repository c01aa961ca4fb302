"""The WhatsApp channel through the real stack: Twilio-signed form posts to /whatsapp
through Starlette's test client, TwiML back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.conversation import Conversations
from bot.server import create_app
from bot.splitting import WHATSAPP_LIMIT
from tests.conftest import (
    PUBLIC_URL,
    channel_settings,
    signed_whatsapp,
    twiml_messages,
    whatsapp_form,
)


@pytest.fixture
def client(conversations: Conversations, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(channel_settings(tmp_path), conversations, background=False)
    with TestClient(app) as c:
        yield c


def send(client: TestClient, form: dict[str, str], headers: dict[str, str] | None = None, path: str = "/whatsapp"):  # type: ignore[no-untyped-def]
    return client.post(path, data=form, headers=signed_whatsapp(form) if headers is None else headers)


messages = twiml_messages


def test_a_signed_spanish_question_gets_a_spanish_twiml_answer_with_citations(client: TestClient) -> None:
    response = send(client, whatsapp_form("SM1", "¿Cuánto tiempo es válida la visa de residente temporal para Gaza?"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    text = "".join(messages(response.text))
    assert text.index("olvidar") < text.index("[1]")  # the first-contact notice opens the reply
    assert "Fuente" in text and "información general" in text


def test_an_unsigned_or_wrongly_signed_request_is_refused(client: TestClient, conversations: Conversations) -> None:
    form = whatsapp_form("SM1", "Hola")
    assert send(client, form, headers={}).status_code == 403
    assert send(client, form, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}).status_code == 403
    forged = signed_whatsapp(form, token="another-account-token")
    assert send(client, form, headers=forged).status_code == 403
    assert conversations.store.counts()["events"] == 0


def test_every_posted_field_is_covered_by_the_signature(client: TestClient) -> None:
    form = whatsapp_form("SM1", "What is the IFHP?")
    headers = signed_whatsapp(form)
    tampered = {**form, "Body": "What is the IFHP? And forget everything"}
    assert send(client, tampered, headers=headers).status_code == 403
    assert send(client, {**form, "Extra": "x"}, headers=headers).status_code == 403


def test_the_signature_is_checked_against_the_public_url_not_the_one_seen_behind_a_proxy(
    client: TestClient,
) -> None:
    form = whatsapp_form("SM1", "What is the IFHP?")
    signed_for_local = signed_whatsapp(form, url="http://testserver/whatsapp")
    assert send(client, form, headers=signed_for_local).status_code == 403
    assert send(client, form, headers=signed_whatsapp(form, url=PUBLIC_URL + "/whatsapp")).status_code == 200


def test_the_same_messagesid_twice_gets_one_answer(client: TestClient) -> None:
    form = whatsapp_form("SM42", "What is the IFHP?")
    first, second = send(client, form), send(client, form)
    assert len(messages(first.text)) >= 1
    assert second.status_code == 200 and messages(second.text) == []


def test_long_replies_are_split_under_1600_characters(client: TestClient) -> None:
    send(client, whatsapp_form("SM1", "menu"))
    response = send(client, whatsapp_form("SM2", "What did Quebec ask the federal government about asylum seekers?"))
    parts = messages(response.text)
    assert parts and all(len(p) <= WHATSAPP_LIMIT for p in parts)


@pytest.mark.parametrize(
    ("word", "needle"),
    [("menu", "volunteer"), ("langue", "Français"), ("Voluntario", "voluntaria"), ("متطوع", "متطوع")],
)
def test_keywords_work_in_every_language(client: TestClient, word: str, needle: str) -> None:
    response = send(client, whatsapp_form("SM1", word))
    assert needle in messages(response.text)[-1]


def test_profile_name_location_and_media_are_never_stored(
    client: TestClient, conversations: Conversations, tmp_path: Path
) -> None:
    form = whatsapp_form(
        "SM1",
        "",
        ProfileName="Amal Khalil",
        Latitude="45.50884",
        Longitude="-73.58781",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/media/ME123",
    )
    response = send(client, form)
    assert "text" in messages(response.text)[-1]
    conversations.store.checkpoint()
    data = b"".join(p.read_bytes() for p in tmp_path.glob("newcomer-bot.db*"))
    for value in (b"Amal", b"45.50884", b"ME123", b"5145550123"):
        assert value not in data


def test_a_body_over_1_mb_gets_413_before_parsing(client: TestClient) -> None:
    form = whatsapp_form("SM1", "x" * (1024 * 1024 + 1))
    assert send(client, form).status_code == 413


def test_a_body_that_is_not_utf8_is_refused_without_a_server_error(client: TestClient) -> None:
    response = client.post("/whatsapp", content=b"Body=\xff\xfe", headers={"X-Twilio-Signature": "abc"})
    assert response.status_code == 403


def test_a_replayed_signature_with_fields_run_together_is_refused(client: TestClient) -> None:
    # Twilio signs keys and values without separators: "MessageSid" + "SM…" + "NumMedia" +
    # "0" reads the same as one field "MessageSid" = "SM…NumMedia0". Such a MessageSid is
    # not one Twilio makes.
    form = whatsapp_form("SM1", "What is the IFHP?")
    assert send(client, form).status_code == 200
    merged = {k: v for k, v in form.items() if k != "NumMedia"}
    merged["MessageSid"] = form["MessageSid"] + "NumMedia0"
    headers = signed_whatsapp(form)
    assert signed_whatsapp(merged) == headers  # the same signature...
    assert send(client, merged, headers=headers).status_code == 400  # ...and still refused


def test_a_form_from_another_twilio_account_is_refused(client: TestClient) -> None:
    form = whatsapp_form("SM1", "What is the IFHP?", AccountSid="AC9999")
    assert send(client, form).status_code == 400
