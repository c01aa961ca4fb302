"""`kb report`: per passage, times cited, thumbs up and down, age and languages; answers
per language and topic. Counted without anyone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import TELEGRAM, Conversations, Inbound
from bot.usage import passage_usage, report
from tests.conftest import PEPPER, TODAY


def test_citations_and_thumbs_are_counted_per_passage_and_reported(
    conversations: Conversations, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = conversations.receive(Inbound(TELEGRAM, "5", "1", "What is the Interim Federal Health Program?", "en"))
    answer = reply.messages[-1]
    conversations.receive(Inbound(TELEGRAM, "5", "2", "", "en", answer.buttons[0][0].action))
    usage = {u.passage_id: u for u in passage_usage(conversations.bot.kb, conversations.store, TODAY)}
    cited = [u for u in usage.values() if u.cited]
    assert cited and all(u.cited == 1 and u.helpful == 1 and u.unhelpful == 0 for u in cited)
    assert all(u.languages == ("en", "fr", "es", "ar") for u in usage.values())
    assert all(u.age_days > 365 for u in usage.values())  # sources of early 2024
    lines = report(conversations.bot.kb, conversations.store, TODAY)
    assert lines[1].split()[0] == "1"  # most cited first
    assert any(line.strip().startswith("en") for line in lines[lines.index("answers per language and topic:") :])
    tables = {r[0] for r in conversations.store.db.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table in ("citations", "answer_counts"):
        assert table in tables
        columns = [r[1] for r in conversations.store.db.conn.execute(f"PRAGMA table_info({table})")]
        assert "pseudonym" not in columns and "channel" not in columns

    from bot.__main__ import main

    conversations.store.checkpoint()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_PEPPER", PEPPER)
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    assert main(["kb", "report"]) == 0
    out, _ = capsys.readouterr()
    assert "cited" in out and "answers per language and topic:" in out
