"""Long polling (`serve --polling`), through python-telegram-bot and a scripted Bot API:
the webhook is removed, updates are answered and confirmed with the next offset, an
update that cannot be recorded is not confirmed, updates the bot does not answer are
confirmed all the same, and a Telegram that fails or asks to wait is waited out with
a back-off that starts again after a success."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.conversation import Conversations
from bot.server import create_app
from bot.telegram_channel import ALLOWED_UPDATES, MAX_BACKOFF, POLL_TIMEOUT, TelegramChannel
from tests.conftest import (
    ROOM,
    Call,
    RecordingRequest,
    button_press,
    channel_settings,
    telegram_update,
    wait_until,
    write_lock_held,
)

Batch = list[dict[str, Any]] | tuple[int, dict[str, Any]] | Callable[[], list[dict[str, Any]]]
BAD_GATEWAY = (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})


def too_many_requests(seconds: int) -> tuple[int, dict[str, Any]]:
    return (
        429,
        {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": seconds}},
    )


class ScriptedTelegram(RecordingRequest):
    """The Bot API for a poller: each getUpdates gets the next batch of updates (or a
    failure, or what a function returns); when the script is done, the poller's task is
    cancelled, as at shutdown."""

    def __init__(self, *batches: Batch) -> None:
        super().__init__()
        self.batches = list(batches)

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: Any = None, **timeouts: Any
    ) -> tuple[int, bytes]:
        if not url.endswith("/getUpdates"):
            return await super().do_request(url, method, request_data, **timeouts)
        self.calls.append(Call("getUpdates", dict(request_data.parameters) if request_data is not None else {}))
        if not self.batches:
            raise asyncio.CancelledError
        batch = self.batches.pop(0)
        if callable(batch):
            batch = batch()
        if isinstance(batch, tuple):
            status, body = batch
            return status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": batch}).encode()

    def offsets(self) -> list[int | None]:
        return [c.params.get("offset") for c in self.calls if c.method == "getUpdates"]


def poller(
    conversations: Conversations, tmp_path: Path, telegram: ScriptedTelegram, **settings: Any
) -> TelegramChannel:
    app = create_app(
        channel_settings(tmp_path, **settings), conversations, polling=True, telegram_request=telegram, background=False
    )
    channel = app.state.channels.telegram
    assert channel is not None
    return channel  # type: ignore[no-any-return]


def run_until_the_script_ends(channel: TelegramChannel) -> None:
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(channel.poll())


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clock's edge: waits are recorded, and take no time."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        recorded.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return recorded


def test_polling_removes_the_webhook_answers_updates_and_confirms_the_offset(
    conversations: Conversations, tmp_path: Path
) -> None:
    telegram = ScriptedTelegram([telegram_update(41, "/start"), button_press(42, "lang:fr")], [])
    run_until_the_script_ends(poller(conversations, tmp_path, telegram))
    assert telegram.calls[0].method == "deleteWebhook"
    first = next(c for c in telegram.calls if c.method == "getUpdates")
    assert first.params == {"timeout": POLL_TIMEOUT, "allowed_updates": list(ALLOWED_UPDATES)}
    assert telegram.offsets() == [None, 43, 43]  # confirmed past both; nothing new, the same offset
    greeting, language_set = telegram.sent()
    assert greeting["chat_id"] == 777001 and "/forget" in greeting["text"]
    assert "en français" in language_set["text"]  # a language named in running text: lower case
    assert [c.params["callback_query_id"] for c in telegram.calls if c.method == "answerCallbackQuery"] == ["cb42"]


def test_an_update_that_cannot_be_recorded_is_not_confirmed_and_is_answered_when_it_comes_again(
    conversations: Conversations, tmp_path: Path
) -> None:
    with write_lock_held(tmp_path, conversations.store) as locker:

        def released() -> list[dict[str, Any]]:
            locker.rollback()
            return [telegram_update(7, "What is the IFHP?"), telegram_update(8, "/privacy")]

        updates = [telegram_update(7, "What is the IFHP?"), telegram_update(8, "/privacy")]
        telegram = ScriptedTelegram(updates, released)
        run_until_the_script_ends(poller(conversations, tmp_path, telegram))
    assert telegram.offsets() == [None, None, 9]
    texts = [m["text"] for m in telegram.sent()]
    assert len(texts) == 2 and "[1]" in texts[0] and "/forget" in texts[1]


def test_updates_the_bot_does_not_answer_are_confirmed_all_the_same(
    conversations: Conversations, tmp_path: Path
) -> None:
    inline_press = button_press(1, "lang:fr")
    del inline_press["callback_query"]["message"]
    inline_press["callback_query"]["inline_message_id"] = "inline-1"
    group_press = button_press(2, "lang:fr")
    group_press["callback_query"]["message"]["chat"] = {"id": -100555, "type": "group", "title": "A group"}
    anonymous_admin = telegram_update(3, "What is the IFHP?", chat_type="supergroup")
    del anonymous_admin["message"]["from"]
    anonymous_admin["message"]["sender_chat"] = {"id": -100555, "type": "supergroup", "title": "A group"}
    channel_post = {
        "update_id": 4,
        "channel_post": {"message_id": 1, "date": 1763726400, "chat": {"id": -100777, "type": "channel"}, "text": "hi"},
    }
    photo_in_room = telegram_update(
        5, None, user_id=4242001, extra={"photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]}
    )
    photo_in_room["message"]["chat"] = {"id": ROOM, "type": "supergroup", "title": "Volunteers"}
    telegram = ScriptedTelegram([inline_press, group_press, anonymous_admin, channel_post, photo_in_room])
    run_until_the_script_ends(poller(conversations, tmp_path, telegram, volunteer_chat_id=ROOM))
    assert telegram.offsets() == [None, 6]
    assert telegram.sent() == [] and not any(c.method == "answerCallbackQuery" for c in telegram.calls)
    assert conversations.store.counts()["events"] == 0  # nothing was recorded about them


def test_serve_polling_starts_the_poller_with_the_server_and_answers_what_it_fetches(
    conversations: Conversations, tmp_path: Path
) -> None:
    telegram = ScriptedTelegram([telegram_update(1, "What is the IFHP?")])
    app = create_app(channel_settings(tmp_path), conversations, polling=True, telegram_request=telegram)
    with TestClient(app) as client:
        wait_until(lambda: bool(telegram.sent()))  # the poller's answer
        # The script's end cancels the poller: it may already have stopped.
        assert client.get("/healthz").json()["channels"]["telegram"] in ("polling", "polling stopped")
    assert telegram.calls[0].method == "deleteWebhook"
    assert not any(c.method == "setWebhook" for c in telegram.calls)  # polling and a webhook exclude each other
    assert "[1]" in telegram.sent()[0]["text"]


@pytest.mark.parametrize("timedelta_api", ["false", "true"])
def test_polling_survives_failures_backing_off_and_waits_as_long_as_telegram_asks(
    conversations: Conversations,
    tmp_path: Path,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
    timedelta_api: str,
) -> None:
    # python-telegram-bot gives retry_after in seconds today, as a timedelta with
    # PTB_TIMEDELTA=true (its next major version): both are waited out the same.
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta_api)
    telegram = ScriptedTelegram(
        BAD_GATEWAY, BAD_GATEWAY, too_many_requests(3), [telegram_update(1, "/start")], BAD_GATEWAY, []
    )
    telegram.failures.append((401, {"ok": False, "error_code": 401, "description": "Unauthorized"}))  # deleteWebhook
    run_until_the_script_ends(poller(conversations, tmp_path, telegram))
    assert sleeps == [1.0, 2.0, 3.0, 1.0]  # doubling, Telegram's own wait, and a fresh start after a success
    assert telegram.offsets() == [None, None, None, None, 2, 2, 2]
    assert len(telegram.sent()) == 1


def test_the_back_off_of_a_long_outage_stops_growing_at_a_minute(
    conversations: Conversations, tmp_path: Path, sleeps: list[float]
) -> None:
    telegram = ScriptedTelegram(*[BAD_GATEWAY] * 9)
    run_until_the_script_ends(poller(conversations, tmp_path, telegram))
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    assert MAX_BACKOFF == 60.0
