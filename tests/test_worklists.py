"""Maintainers' worklists: `kb stale` counts review-by from when a passage was last vetted
(`vetted_on`), while readers are still told the information's own date (`as_of`);
`kb report` names each passage's source and file:line and counts, per language, the
answers, no-answers, handoffs and emergencies (no person, no text)."""

from __future__ import annotations

import dataclasses
from datetime import date

from bot.conversation import TELEGRAM, Conversations, Inbound
from bot.core import Bot, Incoming
from bot.freshness import report as stale_report
from bot.freshness import review_by, stale
from bot.usage import html_report, kind_counts, passage_usage
from bot.usage import report as usage_report
from tests.conftest import TODAY

IFHP = "What is the Interim Federal Health Program?"


def test_kb_stale_lists_only_what_is_due_not_every_passage_with_old_information(bot: Bot) -> None:
    items = stale(bot.kb, TODAY)
    # Every passage's information is from 2024 or earlier, and every one was vetted in
    # 2026: by the information's date all would be due; by the vetting date, none is.
    assert all(p.as_of.first_day < date(2025, 1, 1) for p in bot.kb.passages)
    assert all(p.review_date() < TODAY for p in bot.kb.passages)
    assert len(items) < len(bot.kb.passages) / 10
    assert {s.reason for s in items} == {"ended"}  # what is listed is the measures that ended
    assert all(s.passage.valid_until is not None and s.passage.valid_until < TODAY for s in items)


def test_a_passage_vetted_more_than_a_year_ago_is_due_a_year_after_its_vetting(bot: Bot) -> None:
    first = dataclasses.replace(bot.kb.passages[0], valid_until=None, review_by=None, vetted_on=date(2025, 3, 1))
    kb = dataclasses.replace(bot.kb, passages=(first, *bot.kb.passages[1:]))
    assert review_by(first) == date(2026, 3, 1)
    (item,) = [s for s in stale(kb, TODAY) if s.passage.id == first.id]
    assert item.reason == "review" and item.since == date(2026, 3, 1)
    line = next(line for line in stale_report(kb, TODAY) if first.id in line)
    assert line.startswith("2026-03-01  review by") and f"{first.file}:{first.line}" in line
    # Vetted on 29 February: due on 28 February of the next year. An explicit review_by wins;
    # without vetted_on, a year after as_of.
    assert review_by(dataclasses.replace(first, vetted_on=date(2024, 2, 29))) == date(2025, 2, 28)
    assert review_by(dataclasses.replace(first, review_by=date(2030, 1, 1))) == date(2030, 1, 1)
    assert review_by(dataclasses.replace(first, vetted_on=None)) == first.review_date()


def test_readers_are_still_told_the_date_of_the_information(bot: Bot) -> None:
    reply = bot.handle(Incoming("Who is a refugee under the 1951 Convention?", language_hint="en"))
    assert reply.kind == "answer" and "ended" not in reply.text
    # Vetted in 2026, but the information is from February 2024: readers are told so.
    assert "This information is from February 28, 2024; check that it is still current." in reply.text


def test_kb_report_counts_each_kind_of_reply_per_language_and_names_sources(conversations: Conversations) -> None:
    asked = [
        ("1", "Quelle est la meilleure recette de tarte aux pommes ?", "fr", "no_answer"),
        ("2", "Rechazaron mi solicitud de asilo, ¿debo apelar?", "es", "handoff"),
        ("3", "أريد أن أقتل نفسي الليلة", "ar", "emergency"),
        ("4", IFHP, "en", "answer"),
        ("5", "Quelle est la meilleure recette de crêpes ?", "fr", "no_answer"),
    ]
    for n, text, hint, _ in asked:
        conversations.receive(Inbound(TELEGRAM, f"10{n}", n, text, hint))
    kb, store = conversations.bot.kb, conversations.store
    languages, counts = kind_counts(store)
    assert languages == ["en", "fr", "es", "ar"]
    assert counts == {("fr", "no_answer"): 2, ("es", "handoff"): 1, ("ar", "emergency"): 1, ("en", "answer"): 1}
    lines = usage_report(kb, store, TODAY)
    table = lines[lines.index("replies per language and kind:") + 1 :]
    assert table[0].split() == ["en", "fr", "es", "ar"]
    assert table[1].split() == ["answer", "1", "0", "0", "0"]
    assert table[2].split() == ["no_answer", "0", "2", "0", "0"]
    assert table[3].split() == ["handoff", "0", "0", "1", "0"]
    assert table[4].split() == ["emergency", "0", "0", "0", "1"]
    # Each passage with its source's title and where it is written.
    cited = next(u for u in passage_usage(kb, store, TODAY) if u.cited)
    passage = next(p for p in kb.passages if p.id == cited.passage_id)
    assert cited.title == kb.sources[passage.source].title and cited.where == f"{passage.file}:{passage.line}"
    assert lines[1].endswith(f"{cited.passage_id}  [{passage.source}: {cited.title}]  {passage.file}:{passage.line}")
    page = html_report(kb, store, TODAY)
    assert "Replies per language and kind" in page and f"<code>{passage.file}:{passage.line}</code>" in page
    # Nothing about anyone: only languages, kinds and counts.
    rows = store.db.conn.execute("SELECT * FROM reply_counts").fetchall()
    assert sorted(rows) == [("ar", "emergency", 1), ("es", "handoff", 1), ("fr", "no_answer", 2)]
