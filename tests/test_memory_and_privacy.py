"""Conversation memory and privacy, through the conversation layer and a real database:
what is kept, for how long, what is never kept, and erasure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import TELEGRAM, WHATSAPP, Conversations, Inbound, Outcome
from bot.storage import DATABASE_FILE, Store
from tests.conftest import (
    Clock,
    write_lock_held,
)

PHONE = "whatsapp:+15145550123"


def say(
    conv: Conversations, text: str, n: int, *, channel: str = WHATSAPP, sender: str = PHONE, hint: str | None = None
) -> Outcome:
    return conv.receive(Inbound(channel, sender, f"SM{n:04d}", text, hint))


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith(DATABASE_FILE))


def test_first_contact_gets_the_privacy_notice_in_their_language_before_the_answer(
    conversations: Conversations,
) -> None:
    outcome = say(conversations, "¿Quién puede solicitar un permiso de trabajo abierto en Canadá?", 1)
    assert outcome.status == "new"
    (answer,) = outcome.messages  # one event, one message: the notice opens it
    assert answer.kind == "answer" and answer.language == "es"
    assert answer.text.index("olvidar") < answer.text.index("[1]")
    assert "30" in answer.text and "Twilio" in answer.text
    # The notice is shown once.
    (again,) = say(conversations, "¿Quién puede solicitar un permiso de trabajo abierto en Canadá?", 2).messages
    assert "olvidar" not in again.text.split("[1]")[0]


def test_an_emergency_comes_before_the_notice(conversations: Conversations) -> None:
    (reply,) = say(conversations, "I want to kill myself tonight", 1).messages
    assert reply.kind == "emergency"
    assert reply.text.index("9-8-8") < reply.text.index("forget")


def test_information_is_never_conditional_on_accepting_anything(conversations: Conversations) -> None:
    outcome = say(conversations, "What are the special measures for Gaza families?", 1)
    assert any(m.kind == "answer" for m in outcome.messages)


def test_the_same_event_twice_is_answered_once(conversations: Conversations) -> None:
    first = say(conversations, "What is the IFHP?", 7)
    second = say(conversations, "What is the IFHP?", 7)
    assert first.status == "new" and first.messages
    assert second.status == "duplicate" and not second.messages


def test_what_is_stored_is_a_pseudonym_a_language_and_a_day_never_the_number_or_the_text(
    conversations: Conversations, tmp_path: Path
) -> None:
    say(conversations, "¿Qué es el Programa Federal de Salud Interino?", 1)
    conversations.store.checkpoint()
    data = all_bytes(tmp_path)
    assert b"5145550123" not in data and b"Programa Federal" not in data
    rows = conversations.store.db.conn.execute("SELECT * FROM users").fetchall()
    assert len(rows) == 1
    pseudonym, language, chosen, notice, last_day, _helpful, _unhelpful = rows[0]
    assert len(pseudonym) == 64 and "5145550123" not in pseudonym
    assert (language, chosen, notice, last_day) == ("es", 0, 1, "2026-11-21")


def test_pseudonyms_differ_by_channel_and_by_pepper(conversations: Conversations) -> None:
    from bot.keys import Keys

    keys = conversations.keys
    assert keys.pseudonym(TELEGRAM, "42") != keys.pseudonym(WHATSAPP, "42")
    assert keys.pseudonym(TELEGRAM, "42") != Keys(b"another pepper of 32 bytes......").pseudonym(TELEGRAM, "42")


@pytest.mark.parametrize("word", ["forget", "Oublier", "olvidar", "احذف", "/forget"])
def test_forget_erases_every_row_and_confirms_in_their_language(conversations: Conversations, word: str) -> None:
    say(conversations, "¿Qué es el IFHP?", 1)
    assert conversations.store.counts()["users"] == 1
    outcome = say(conversations, word, 2)
    assert conversations.store.counts()["users"] == 0
    (confirmation,) = outcome.messages
    assert confirmation.language == "es"
    assert "borr" in confirmation.text.lower() or "elimin" in confirmation.text.lower()


def test_forget_is_idempotent(conversations: Conversations) -> None:
    first = say(conversations, "forget", 1)
    second = say(conversations, "forget", 2)
    assert first.messages[0].text == second.messages[0].text
    assert conversations.store.counts()["users"] == 0


def test_erased_values_are_gone_from_the_database_files_including_the_wal(
    conversations: Conversations, tmp_path: Path
) -> None:
    say(conversations, "What is the IFHP?", 1, channel=TELEGRAM, sender="987654321")
    conversations.receive(Inbound(TELEGRAM, "987654321", "2", "", "en", "lang:fr"))
    pseudonym = conversations.keys.pseudonym(TELEGRAM, "987654321").encode()
    assert pseudonym in all_bytes(tmp_path)  # the check below could fail
    say(conversations, "/forget", 3, channel=TELEGRAM, sender="987654321")
    assert (tmp_path / f"{DATABASE_FILE}-wal").exists()
    assert pseudonym not in all_bytes(tmp_path)


def test_inactive_people_are_purged_after_the_retention_period(conversations: Conversations, clock: Clock) -> None:
    say(conversations, "What is the IFHP?", 1)
    clock.advance(days=29)
    say(conversations, "What is the IFHP?", 2, sender="whatsapp:+15145550999")
    clock.advance(days=2)
    purged = conversations.purge()
    assert purged.users == 1 and conversations.store.counts()["users"] == 1
    assert purged.events == 0  # event keys outlive the people: a replay is never answered (EVENT_DAYS)


def test_a_flood_gets_one_notice_and_no_amplification(conversations: Conversations, clock: Clock) -> None:
    statuses = [say(conversations, f"question {n} about work permits", n) for n in range(25)]
    answered = [o for o in statuses if o.status == "new"]
    throttled = [o for o in statuses if o.status == "throttled"]
    assert len(answered) == 20 and len(throttled) == 5
    assert [len(o.messages) for o in throttled] == [1, 0, 0, 0, 0]
    clock.advance(minutes=1)
    assert say(conversations, "What is the IFHP?", 99).status == "new"


def test_the_rate_limit_is_per_person(conversations: Conversations) -> None:
    for n in range(20):
        say(conversations, "work permit", n)
    assert say(conversations, "work permit", 100).status == "throttled"
    assert say(conversations, "work permit", 101, sender="whatsapp:+15145550999").status == "new"


@pytest.mark.parametrize(
    ("word", "language", "expected"),
    [
        # In running text, French and Spanish write a language's name in lower case.
        ("Français", "fr", "en français"),
        ("español", "es", "en español"),
        ("العربية", "ar", "العربية"),
        ("english", "en", "English"),
    ],
)
def test_writing_a_language_name_chooses_it_and_it_sticks(
    conversations: Conversations, word: str, language: str, expected: str
) -> None:
    outcome = say(conversations, word, 1)
    assert outcome.messages[-1].language == language and expected in outcome.messages[-1].text
    # Two words are too few to tell a language: the choice decides.
    reply = say(conversations, "IFHP ?", 2).messages[-1]
    assert reply.language == language


def test_a_chosen_language_is_not_overwritten_by_detection(conversations: Conversations) -> None:
    say(conversations, "langue", 1)
    say(conversations, "Français", 2)
    say(conversations, "Who is eligible for the Gaza special measures?", 3)
    user = conversations.store.user(conversations.keys.pseudonym(WHATSAPP, PHONE))
    assert user is not None and user.language == "fr" and user.language_chosen


def test_whatsapp_answers_list_the_keywords_in_the_users_language(conversations: Conversations) -> None:
    reply = say(conversations, "Quelles sont les mesures spéciales pour les familles de Gaza?", 1).messages[-1]
    assert reply.kind == "answer"
    assert all(k in reply.text for k in ("bénévole", "langue", "oublier", "menu"))


def test_telegram_answers_carry_feedback_and_volunteer_buttons(conversations: Conversations) -> None:
    reply = say(conversations, "What is the Interim Federal Health Program?", 1, channel=TELEGRAM, sender="5").messages[
        -1
    ]
    actions = [b.action for row in reply.buttons for b in row]
    assert actions[0].startswith("feedback:+:") and actions[1].startswith("feedback:-:") and actions[2] == "volunteer"
    assert all(len(a.encode()) <= 64 for a in actions)  # Telegram's callback_data limit


def test_feedback_is_counted_per_passage_without_the_person(conversations: Conversations) -> None:
    reply = say(conversations, "What is the Interim Federal Health Program?", 1, channel=TELEGRAM, sender="5").messages[
        -1
    ]
    thumbs_up = reply.buttons[0][0].action
    outcome = conversations.receive(Inbound(TELEGRAM, "5", "2", "", "en", thumbs_up))
    assert outcome.messages and outcome.messages[0].kind == "info"
    counts = conversations.store.passage_feedback()
    assert counts and all(v == (1, 0) for v in counts.values())
    user = conversations.store.user(conversations.keys.pseudonym(TELEGRAM, "5"))
    assert user is not None and user.helpful == 1


def test_forged_feedback_counts_nothing(conversations: Conversations) -> None:
    outcome = conversations.receive(Inbound(TELEGRAM, "5", "1", "", "en", "feedback:+:deadbeef.<script>"))
    assert conversations.store.passage_feedback() == {}
    assert outcome.status == "new"


def test_something_that_is_not_text_gets_a_localized_text_only_reply(conversations: Conversations) -> None:
    conversations.receive(Inbound(WHATSAPP, PHONE, "1", "Bonjour, j'ai une question sur le permis de travail"))
    outcome = conversations.receive(Inbound(WHATSAPP, PHONE, "2", "", non_text=True))
    (reply,) = outcome.messages
    assert reply.language == "fr" and "texte" in reply.text


def test_start_uses_telegrams_language_code_for_a_new_person(conversations: Conversations) -> None:
    outcome = conversations.receive(Inbound(TELEGRAM, "9", "1", "/start", "ar"))
    (greeting,) = outcome.messages
    assert greeting.language == "ar" and greeting.text.startswith("\u200f")
    assert "/forget" in greeting.text and "Telegram" in greeting.text


def test_an_unknown_command_gets_the_help(conversations: Conversations) -> None:
    outcome = conversations.receive(Inbound(TELEGRAM, "9", "1", "/deport_me", "en"))
    assert "/language" in outcome.messages[-1].text


def test_help_alone_is_not_a_keyword_it_may_be_a_person_in_danger(conversations: Conversations) -> None:
    outcome = say(conversations, "help", 1)
    assert outcome.messages[-1].kind != "info"


def test_a_locked_database_is_reported_not_swallowed(conversations: Conversations, tmp_path: Path) -> None:
    from bot.conversation import Unavailable

    with write_lock_held(tmp_path, conversations.store), pytest.raises(Unavailable):
        say(conversations, "What is the IFHP?", 1)
    assert say(conversations, "What is the IFHP?", 1).status == "new"  # nothing was recorded


def test_migrations_create_and_then_leave_the_schema_alone(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    store = Store.open(tmp_path)
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    applied = conn.execute("SELECT name FROM _sqlite_migrations").fetchall()
    assert applied == [
        ("m001_initial",),
        ("m002_volunteer_desk",),
        ("m003_gaps",),
        ("m004_usage",),
        ("m005_unsent_replies",),
        ("m006_reply_counts",),
        ("m007_erasure",),
    ]
    store.close()
