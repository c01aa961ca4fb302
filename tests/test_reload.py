"""Reloading the knowledge base without a restart: `/reload` in the volunteers' room (or
SIGHUP) swaps in what is on disk, only when `kb check` passes on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from twilio.rest import Client

from bot.app import build_conversations, rebuild_bot
from bot.core import Bot
from bot.server import create_app
from tests.conftest import (
    ROOM,
    ROOT,
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    Clock,
    RecordingRequest,
    RecordingTwilio,
    channel_settings,
    room_message,
    telegram_update,
)

SECRET = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
QUESTION = "What is the Interim Federal Health Program?"


class Deployment:
    def __init__(self, bot: Bot, tmp_path: Path, clock: Clock) -> None:
        # A checkout of our own: the knowledge base and the seeds its quotes come from.
        self.root = tmp_path / "checkout"
        shutil.copytree(ROOT / "knowledge", self.root / "knowledge")
        shutil.copytree(ROOT / "seeds", self.root / "seeds")
        self.settings = channel_settings(
            tmp_path / "data", knowledge_dir=self.root / "knowledge", volunteer_chat_id=ROOM
        )
        self.telegram = RecordingRequest()
        self.conv = build_conversations(self.settings, bot, now=clock)
        self.app = create_app(
            self.settings,
            self.conv,
            telegram_request=self.telegram,
            twilio_client=Client("AC0000", TWILIO_TOKEN, http_client=RecordingTwilio()),
            background=False,
            rebuild=lambda: rebuild_bot(self.settings),
        )
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.updates = 0

    def post(self, update: dict) -> None:  # type: ignore[type-arg]
        assert self.client.post("/telegram", json=update, headers=SECRET).status_code == 200

    def ask(self, text: str) -> str:
        self.updates += 1
        self.post(telegram_update(self.updates, text))
        return str(self.telegram.sent()[-1]["text"])

    def reload(self) -> str:
        self.updates += 1
        self.post(room_message(self.updates, "/reload"))
        return str([p for p in self.telegram.sent() if p["chat_id"] == ROOM][-1]["text"])

    def edit_passages(self, old: str, new: str) -> None:
        path = self.root / "knowledge" / "passages" / "gaza.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def deployment(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[Deployment]:
    d = Deployment(bot, tmp_path, clock)
    yield d
    d.client.__exit__(None, None, None)
    d.conv.store.close()


def test_a_checked_edit_is_answered_after_reload_without_a_restart(deployment: Deployment) -> None:
    assert "newly reviewed" not in deployment.ask(QUESTION)
    deployment.edit_passages("Interim Federal Health Program,", "Interim Federal Health Program (newly reviewed),")
    result = deployment.reload()
    assert result.startswith("Knowledge base reloaded: version")
    assert "newly reviewed" in deployment.ask(QUESTION)


def test_a_broken_edit_keeps_the_running_knowledge_base_and_tells_the_room(deployment: Deployment) -> None:
    deployment.ask(QUESTION)  # the first reply also carries the privacy notice
    before = deployment.ask(QUESTION)
    deployment.edit_passages("source: tml-2024-02-28", "source: no-such-source")
    result = deployment.reload()
    assert result.startswith("Reload refused: kb check found 1 problem")
    assert "gaza.yaml:" in result and "no-such-source" in result
    assert deployment.ask(QUESTION) == before  # still answering, from the old knowledge base


def test_without_a_volunteers_room_a_reload_tells_no_one(conversations) -> None:  # type: ignore[no-untyped-def]
    from bot.desk import Desk

    desk = Desk(conversations.store, conversations.keys, conversations.bot.catalogs)
    assert desk.reloaded("v1", 215, []) == [] and desk.reloaded("v1", 215, ["x.yaml:1: bad"]) == []
