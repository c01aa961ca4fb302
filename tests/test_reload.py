"""Reloading the knowledge base without a restart: `/reload` in the volunteers' room (or
SIGHUP) swaps in what is on disk, only when `kb check` passes on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core import Bot
from tests.conftest import Clock
from tests.serving import Deployment

QUESTION = "What is the Interim Federal Health Program?"


@pytest.fixture
def deployment(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[Deployment]:
    d = Deployment(bot, tmp_path, clock)
    yield d
    d.client.__exit__(None, None, None)
    d.conv.store.close()


def test_a_checked_edit_is_answered_after_reload_without_a_restart(deployment: Deployment) -> None:
    assert "newly reviewed" not in deployment.ask(QUESTION)
    deployment.edit_passages(
        "permanent residents. According to",
        "permanent residents (newly reviewed). According to",
        "note-interim-federal-health-program.yaml",
    )
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
