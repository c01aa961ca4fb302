"""Telegram delivery at its edges, through python-telegram-bot and the recording Bot API:
a delivery asked for during a pass is done by that pass, a button press Telegram no
longer lets the bot acknowledge is still answered, and a person's replies keep their
order across a failed attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.conversation import TELEGRAM, Conversations, Inbound
from bot.server import create_app
from bot.telegram_channel import TelegramChannel
from tests.conftest import (
    TELEGRAM_HEADERS,
    Clock,
    RecordingRequest,
    button_press,
    channel_settings,
)

BAD_GATEWAY = (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})


class HookedTelegram(RecordingRequest):
    """Runs `after_first_send` once, right after the first sendMessage call returns."""

    def __init__(self) -> None:
        super().__init__()
        self.after_first_send: Callable[[], Awaitable[None]] | None = None

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: Any = None, **timeouts: Any
    ) -> tuple[int, bytes]:
        answer = await super().do_request(url, method, request_data, **timeouts)
        if url.endswith("/sendMessage") and self.after_first_send is not None:
            hook, self.after_first_send = self.after_first_send, None
            await hook()
        return answer


@pytest.fixture
def telegram() -> HookedTelegram:
    return HookedTelegram()


@pytest.fixture
def channel(conversations: Conversations, telegram: HookedTelegram, tmp_path: Path) -> TelegramChannel:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=telegram, background=False)
    found = app.state.channels.telegram
    assert found is not None
    return found  # type: ignore[no-any-return]


def test_a_delivery_asked_for_during_a_pass_is_done_by_that_pass(
    conversations: Conversations, telegram: HookedTelegram, channel: TelegramChannel
) -> None:
    conversations.receive(Inbound(TELEGRAM, "777001", "1", "/start", "en"), address="777001")
    returned_at_once: list[int] = []

    async def another_person_writes_meanwhile() -> None:
        conversations.receive(Inbound(TELEGRAM, "777002", "2", "/start", "fr"), address="777002")
        await channel.deliver()  # what accepting that update does while the pass runs
        returned_at_once.append(len(telegram.sent()))

    telegram.after_first_send = another_person_writes_meanwhile
    asyncio.run(channel.deliver())
    assert returned_at_once == [1]  # the second call sent nothing itself...
    assert [m["chat_id"] for m in telegram.sent()] == [777001, 777002]  # ...the running pass did
    assert conversations.store.counts()["outbox"] == 0


def test_a_button_press_that_can_no_longer_be_acknowledged_is_still_answered(
    conversations: Conversations, telegram: HookedTelegram, tmp_path: Path
) -> None:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=telegram, background=False)
    telegram.failures.append(
        (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: query is too old and response timeout expired",
            },
        )
    )
    with TestClient(app) as client:
        headers = TELEGRAM_HEADERS
        assert client.post("/telegram", json=button_press(1, "lang:es"), headers=headers).status_code == 200
    assert [c.method for c in telegram.calls] == ["answerCallbackQuery", "sendMessage"]
    assert "en español" in telegram.sent()[0]["text"]


@pytest.fixture
def two_replies(conversations: Conversations) -> Iterator[None]:
    conversations.receive(Inbound(TELEGRAM, "777001", "1", "/start", "en"), address="777001")
    conversations.receive(Inbound(TELEGRAM, "777001", "2", "/language", "en"), address="777001")
    yield


def test_a_failed_attempt_stops_that_persons_pass_so_nothing_overtakes_it(
    conversations: Conversations, telegram: HookedTelegram, channel: TelegramChannel, two_replies: None
) -> None:
    telegram.failures.append(BAD_GATEWAY)
    asyncio.run(channel.deliver())
    assert len(telegram.sent()) == 1  # the failed attempt; the second reply did not jump ahead
    assert conversations.store.counts()["outbox"] == 2


def test_a_persons_replies_keep_their_order_across_a_failed_attempt(
    conversations: Conversations, telegram: HookedTelegram, channel: TelegramChannel, clock: Clock, two_replies: None
) -> None:
    telegram.failures.append(BAD_GATEWAY)

    async def passes() -> None:
        await channel.deliver()  # "/start"'s reply fails and backs off for a second
        await channel.deliver()  # another pass in that second (any new update starts one)
        clock.advance(seconds=1)
        await channel.deliver()

    asyncio.run(passes())
    delivered = [m["text"] for m in telegram.sent()[1:]]
    assert "/forget" in delivered[0] and delivered[1].startswith("Choose the language")
