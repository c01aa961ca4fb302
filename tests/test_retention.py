"""Retention to the day, as the notice and the README say it (issue 18, item 2): each kind
of row is kept on the last day of its period and gone the day after, whatever the
settings say; and the rate limit's edges, to the message and to the second."""

from __future__ import annotations

import pytest

from bot.conversation import EVENT_DAYS, GAP_DAYS, OUTBOX_DAYS, TELEGRAM, WHATSAPP, Conversations, Inbound
from tests.conftest import Clock

PHONE = "whatsapp:+15145550123"
OFF_TOPIC = "Where can I buy a cheap winter coat in Toronto?"


def say(conv: Conversations, text: str, n: int, sender: str = PHONE, channel: str = WHATSAPP):  # type: ignore[no-untyped-def]
    return conv.receive(Inbound(channel, sender, f"R{n}", text))


def kept_then_gone(conv: Conversations, clock: Clock, table: str, days: int) -> None:
    """One row in `table` now: still there `days` days later, gone the day after."""
    assert conv.store.counts()[table] == 1
    clock.advance(days=days)
    conv.purge()
    assert conv.store.counts()[table] == 1, f"{table} purged on day {days}"
    clock.advance(days=1)
    conv.purge()
    assert conv.store.counts()[table] == 0, f"{table} kept on day {days + 1}"


@pytest.mark.parametrize("retention", [30, 7, 1])
def test_a_person_is_kept_through_the_last_day_of_the_retention_period_and_gone_the_next(
    conversations: Conversations, clock: Clock, retention: int
) -> None:
    conversations.retention_days = retention
    say(conversations, "What is the IFHP?", 1)
    kept_then_gone(conversations, clock, "users", retention)


def test_a_message_late_in_the_day_counts_as_that_day(conversations: Conversations, clock: Clock) -> None:
    clock.advance(hours=11, minutes=59)  # 23:59
    say(conversations, "What is the IFHP?", 1)
    clock.advance(minutes=2)  # 00:01 the next day
    kept_then_gone(conversations, clock, "users", conversations.retention_days - 1)


@pytest.mark.parametrize("retention", [30, 5])
def test_a_vote_is_kept_for_the_retention_period(conversations: Conversations, clock: Clock, retention: int) -> None:
    conversations.retention_days = retention
    (reply,) = conversations.receive(Inbound(TELEGRAM, "5", "1", "What is the IFHP?", "en")).messages
    conversations.receive(Inbound(TELEGRAM, "5", "2", "", "en", reply.buttons[0][0].action))
    # The person keeps writing, so only the vote's own period counts.
    for day in range(1, retention + 2):
        clock.advance(days=1)
        conversations.receive(Inbound(TELEGRAM, "5", f"w{day}", "/help", "en"))
        conversations.purge()
        assert conversations.store.counts()["votes"] == (1 if day <= retention else 0), day


def test_a_gap_is_kept_for_its_period(conversations: Conversations, clock: Clock) -> None:
    say(conversations, OFF_TOPIC, 1)
    kept_then_gone(conversations, clock, "gaps", GAP_DAYS)


def test_an_event_key_is_kept_for_its_period(conversations: Conversations, clock: Clock) -> None:
    conversations.retention_days = EVENT_DAYS + 10  # the person stays; only the key is looked at
    say(conversations, "What is the IFHP?", 1)
    kept_then_gone(conversations, clock, "events", EVENT_DAYS)


def test_an_undelivered_reply_is_kept_for_its_period(conversations: Conversations, clock: Clock) -> None:
    conversations.receive(Inbound(TELEGRAM, "5", "1", "What is the IFHP?", "en"), address="5")
    kept_then_gone(conversations, clock, "outbox", OUTBOX_DAYS)


def test_a_question_waiting_for_consent_is_kept_a_day_to_the_second(conversations: Conversations, clock: Clock) -> None:
    from bot.desk import Desk

    catalogs = conversations.bot.catalogs
    conversations.desk = Desk(conversations.store, conversations.keys, catalogs, room=-100, clock=clock)
    say(conversations, "volunteer", 1)
    assert conversations.store.counts()["consents"] == 1
    clock.advance(days=1)
    conversations.purge()
    assert conversations.store.counts()["consents"] == 1
    clock.advance(seconds=1)
    conversations.purge()
    assert conversations.store.counts()["consents"] == 0


# -- the rate limit's edges -------------------------------------------------------------------


@pytest.mark.parametrize("limit", [20, 3])
def test_the_rate_limit_answers_exactly_its_number_in_a_minute(
    conversations: Conversations, clock: Clock, limit: int
) -> None:
    conversations.rate_limit = limit
    statuses = [say(conversations, "work permit", n).status for n in range(limit + 1)]
    assert statuses == ["new"] * limit + ["throttled"]


def test_the_rate_limit_window_is_one_minute_to_the_second(conversations: Conversations, clock: Clock) -> None:
    conversations.rate_limit = 2
    say(conversations, "work permit", 1)
    clock.advance(seconds=30)
    say(conversations, "work permit", 2)
    clock.advance(seconds=29, microseconds=999_999)  # 59.999999 s after the first
    assert say(conversations, "work permit", 3).status == "throttled"
    clock.advance(microseconds=1)  # the first is a minute old: one place is free
    assert say(conversations, "work permit", 4).status == "new"
    assert say(conversations, "work permit", 5).status == "throttled"
    clock.advance(seconds=30)  # the second is a minute old
    assert say(conversations, "work permit", 6).status == "new"
