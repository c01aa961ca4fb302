"""`kb stale`: what a maintainer must look at again, on the real knowledge base."""

from __future__ import annotations

import dataclasses
from datetime import date

from bot.core import Bot
from bot.freshness import report, stale
from tests.conftest import TODAY


def test_the_gaza_temporary_resident_measures_are_listed_as_ended(bot: Bot) -> None:
    ended = [s for s in stale(bot.kb, TODAY) if s.reason == "ended"]
    assert ended and all(s.since == date(2025, 1, 9) for s in ended)
    assert any("gaza" in s.passage.id for s in ended)
    lines = report(bot.kb, TODAY)
    assert any("ended on" in line and "2025-01-09" in line and "gaza" in line for line in lines)


def test_stale_passages_come_oldest_first_with_their_source_and_place(bot: Bot) -> None:
    items = stale(bot.kb, TODAY)
    assert [s.since for s in items] == sorted(s.since for s in items)
    line = report(bot.kb, TODAY)[0]
    assert "[" in line and ".yaml:" in line


def test_a_passage_reviewed_recently_is_not_listed(bot: Bot) -> None:
    first = bot.kb.passages[0]
    due = dataclasses.replace(first, review_by=date(2026, 6, 1), valid_until=None)
    fresh = dataclasses.replace(first, review_by=date(2027, 6, 1), valid_until=None)
    listed = {s.passage.id for s in stale(dataclasses.replace(bot.kb, passages=(due, *bot.kb.passages[1:])), TODAY)}
    assert first.id in listed
    assert first.id not in {s.passage.id for s in stale(dataclasses.replace(bot.kb, passages=(fresh,)), TODAY)}


def test_nothing_is_stale_on_the_day_the_sources_were_written(bot: Bot) -> None:
    assert [s for s in stale(bot.kb, date(2024, 1, 1)) if s.reason == "ended"] == []


def test_kb_stale_prints_the_list_and_counts_it(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.__main__ import main

    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    assert main(["kb", "stale"]) == 0
    out, err = capsys.readouterr()
    assert "ended on" in out and "2025-01-09" in out
    assert err.strip().endswith("passage(s) to review")
