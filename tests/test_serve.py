"""`python -m bot serve` as a process on loopback, as an organisation runs it: a fake
Bot API server stands in for Telegram (through TELEGRAM_API_BASE_URL), Twilio's side
is played by signed requests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import (
    TELEGRAM_HEADERS,
    TELEGRAM_TOKEN,
    TWILIO_TOKEN,
    signed_whatsapp,
    telegram_update,
    twiml_messages,
    wait_until,
    whatsapp_form,
)
from tests.serving import FakeTelegram, Server


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="module")
def server(telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("data"), telegram)
    server.start()
    yield server
    server.stop()
    # What the server logged, start to end: no token, no number, no question.
    for secret in (TELEGRAM_TOKEN, TWILIO_TOKEN, "5145550123", "777001", "visa"):
        assert secret not in server.output
    pepper = server.data / "pepper"
    assert pepper.exists() and oct(pepper.stat().st_mode)[-3:] == "600"


@pytest.fixture(scope="module")
def served(server: Server) -> str:
    return server.url


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
    served: str, server: Server, telegram: FakeTelegram
) -> None:
    update = telegram_update(501, "Who is eligible for the Gaza special measures?")
    assert httpx.post(f"{served}/telegram", json=update).status_code == 403
    headers = TELEGRAM_HEADERS
    assert httpx.post(f"{served}/telegram", json=update, headers=headers).status_code == 200
    # Sent and marked sent: once the outbox is empty, nothing is left that could be sent again.
    wait_until(lambda: telegram.attempts() >= 1 and server.rows("outbox") == 0, 10)
    sends = telegram.delivered(777001)
    assert len(sends) == 1 and "Gaza" in sends[0]
    assert any(method == "setWebhook" for method, _, _ in telegram.calls)


def test_healthz_reports_the_knowledge_base(served: str) -> None:
    report = httpx.get(f"{served}/healthz").json()
    assert report["database"] == "ok" and report["knowledge_base"]["passages"] > 100
