"""The Telegram channel through the real stack: Starlette's test client posting Bot API
updates to /telegram, python-telegram-bot sending through a recording `BaseRequest`."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.conversation import Button, Conversations, Inbound, Outbound
from bot.server import create_app
from bot.splitting import TELEGRAM_LIMIT
from tests.conftest import (
    TELEGRAM_HEADERS,
    Clock,
    RecordingRequest,
    button_press,
    channel_settings,
    in_portal,
    telegram_update,
    write_lock_held,
)

SECRET = TELEGRAM_HEADERS


@pytest.fixture
def recorder() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
def client(conversations: Conversations, recorder: RecordingRequest, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=recorder, background=False)
    with TestClient(app) as c:
        yield c


def post(client: TestClient, update: dict[str, Any], headers: dict[str, str] = SECRET) -> int:
    return client.post("/telegram", json=update, headers=headers).status_code


def deliver(client: TestClient) -> None:
    """One pass of the Telegram delivery worker, on the client's event loop."""
    app: Any = client.app
    in_portal(client, app.state.channels.telegram.deliver)


def test_an_update_without_the_secret_is_refused_and_not_processed(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations
) -> None:
    assert post(client, telegram_update(1, "What is the IFHP?"), headers={}) == 403
    assert (
        post(client, telegram_update(1, "What is the IFHP?"), headers={"X-Telegram-Bot-Api-Secret-Token": "x"}) == 403
    )
    assert recorder.calls == [] and conversations.store.counts()["events"] == 0


def test_the_secret_is_checked_before_the_body_is_parsed(client: TestClient) -> None:
    response = client.post("/telegram", content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": "x"})
    assert response.status_code == 403
    assert client.post("/telegram", content=b"{not json", headers=SECRET).status_code == 400


def test_a_question_gets_one_sendmessage_with_the_answer_in_html(
    client: TestClient, recorder: RecordingRequest
) -> None:
    assert post(client, telegram_update(1, "/start")) == 200
    assert post(client, telegram_update(2, "What health coverage do refugee claimants get?")) == 200
    greeting, answer = recorder.sent()
    assert greeting["chat_id"] == 777001 and "/forget" in greeting["text"]
    assert answer["parse_mode"] == "HTML" and "Interim Federal Health Program" in answer["text"]
    assert "general information" in answer["text"]
    buttons = answer["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in buttons[0]] == ["👍", "👎"] and buttons[1][0]["callback_data"] == "volunteer"


def test_a_repeated_update_id_is_acknowledged_and_ignored(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations
) -> None:
    update = telegram_update(5, "What is the IFHP?")
    assert [post(client, update) for _ in range(3)] == [200, 200, 200]
    assert len(recorder.sent()) == 1
    assert conversations.store.counts()["events"] == 1


def test_start_greets_in_the_language_telegram_gives(client: TestClient, recorder: RecordingRequest) -> None:
    post(client, telegram_update(1, "/start", language_code="fr"))
    (greeting,) = recorder.sent()
    assert greeting["text"].startswith("Bonjour") and "/forget" in greeting["text"]


def test_language_command_offers_four_buttons_and_a_press_switches(
    client: TestClient, recorder: RecordingRequest
) -> None:
    post(client, telegram_update(1, "/start"))
    post(client, telegram_update(2, "/language"))
    menu = recorder.sent()[-1]
    row = menu["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in row] == ["English", "Français", "Español", "العربية"]
    post(client, button_press(3, "lang:ar"))
    assert any(c.method == "answerCallbackQuery" for c in recorder.calls)
    assert "العربية" in recorder.sent()[-1]["text"]
    post(client, telegram_update(4, "IFHP?"))
    assert re.search("[\u0600-\u06ff]", recorder.sent()[-1]["text"])


@pytest.mark.parametrize(
    "content",
    [
        {"voice": {"file_id": "v1", "file_unique_id": "u1", "duration": 3}},
        {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 1, "height": 1}]},
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u3",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"location": {"latitude": 45.50887, "longitude": -73.58781}},
        {"contact": {"phone_number": "+15145550199", "first_name": "Sam"}},
        {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "passport.pdf"}},
    ],
)
def test_something_not_text_gets_a_text_only_reply_and_nothing_of_it_is_kept(
    client: TestClient,
    recorder: RecordingRequest,
    conversations: Conversations,
    tmp_path: Path,
    content: dict[str, Any],
) -> None:
    post(client, telegram_update(1, None, language_code="es", extra=content))
    reply = recorder.sent()[-1]
    assert "texto" in reply["text"]
    conversations.store.checkpoint()
    data = b"".join(p.read_bytes() for p in tmp_path.glob("newcomer-bot.db*"))
    # The coordinates are precise enough that no timestamp of the run (seconds like "45.5")
    # can hold them by chance.
    for secret in (b"5145550199", b"passport", b"45.50887", b"777001"):
        assert secret not in data


def test_content_with_markup_characters_is_escaped_never_interpreted(
    client: TestClient, recorder: RecordingRequest
) -> None:
    post(client, telegram_update(1, "<b>What</b> is the IFHP & who gets *it* _now_?"))
    for message in recorder.sent():
        text = message["text"]
        # Only entities Telegram's HTML accepts, and none the bot did not write.
        assert not re.search(r"<(?!/?(b|i|u|s|a|code|pre)\b)", text)
        assert html.unescape(text).count("<b>") == 0


def test_a_reply_longer_than_telegrams_limit_is_split_and_buttons_stay_on_the_last_piece(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations
) -> None:
    long_text = "\n\n".join(f"Paragraph {n}. " + "word & <b> " * 60 for n in range(12))
    message = Outbound(long_text, "en", ((Button("x", "volunteer"),),))
    payload = json.dumps({"address": "42", "message": message.to_json()}).encode()
    with conversations.store.transaction():
        conversations.store.enqueue("telegram", "thread", conversations.keys.seal(payload), date(2026, 11, 21))
    deliver(client)
    pieces = recorder.sent()
    assert len(pieces) >= 2
    assert all(len(html.unescape(p["text"])) <= TELEGRAM_LIMIT for p in pieces)
    assert "".join(html.unescape(p["text"]) for p in pieces).split() == long_text.split()
    assert [("reply_markup" in p) for p in pieces] == [False] * (len(pieces) - 1) + [True]


def test_telegram_429_is_retried_after_the_time_it_asks_and_delivered_once(
    client: TestClient, recorder: RecordingRequest
) -> None:
    recorder.failures.append(
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 1}})
    )
    post(client, telegram_update(1, "/start"))
    sends = [c for c in recorder.calls if c.method == "sendMessage"]
    assert len(sends) == 2 and sends[0].params == sends[1].params


def test_an_unreachable_telegram_keeps_the_reply_for_later_and_backs_off(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations, clock: Clock
) -> None:
    recorder.failures.append((502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    post(client, telegram_update(1, "/start"))
    assert conversations.store.counts()["outbox"] == 1
    deliver(client)
    assert len(recorder.sent()) == 1  # not due yet: no second attempt at once
    clock.advance(seconds=1)
    deliver(client)
    assert conversations.store.counts()["outbox"] == 0
    assert len(recorder.sent()) == 2  # one failed attempt, one delivery


def test_a_person_who_blocked_the_bot_does_not_block_the_outbox(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations
) -> None:
    recorder.failures.append((403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}))
    post(client, telegram_update(1, "/start"))
    assert conversations.store.counts()["outbox"] == 0


def test_replies_queued_before_a_crash_are_sent_once_after_restart(
    conversations: Conversations, tmp_path: Path
) -> None:
    # Accepted and recorded, never sent: the process died here.
    conversations.receive(Inbound("telegram", "777001", "1", "/start", "en"), address="777001")
    recorder = RecordingRequest()
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=recorder, background=False)
    with TestClient(app) as c:
        in_portal(c, app.state.channels.telegram.deliver)
        in_portal(c, app.state.channels.telegram.deliver)
    assert len(recorder.sent()) == 1 and conversations.store.counts()["outbox"] == 0


def test_group_chats_are_not_answered(client: TestClient, recorder: RecordingRequest) -> None:
    assert post(client, telegram_update(1, "What is the IFHP?", chat_type="group")) == 200
    assert recorder.sent() == []


def test_forget_through_telegram_confirms_and_erases(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations
) -> None:
    post(client, telegram_update(1, "What is the IFHP?"))
    post(client, telegram_update(2, "/forget"))
    assert conversations.store.counts()["users"] == 0
    assert "erased" in recorder.sent()[-1]["text"]


def test_an_update_that_cannot_be_recorded_gets_503_so_telegram_sends_it_again(
    client: TestClient, recorder: RecordingRequest, conversations: Conversations, tmp_path: Path
) -> None:
    with write_lock_held(tmp_path, conversations.store):
        assert post(client, telegram_update(1, "What is the IFHP?")) == 503
    assert recorder.sent() == []
    assert post(client, telegram_update(1, "What is the IFHP?")) == 200  # the redelivery
    assert len(recorder.sent()) == 1
