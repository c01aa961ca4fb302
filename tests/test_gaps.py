"""Gaps: what people ask that the bot cannot answer, counted for maintainers without
anything that says who asked (`python -m bot kb gaps`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import TELEGRAM, WHATSAPP, Conversations, Inbound, gap_form
from bot.storage import DATABASE_FILE
from tests.conftest import PEPPER, Clock

OFF_TOPIC = "Where can I buy a cheap winter coat in Toronto?"


def ask(conv: Conversations, text: str, n: int, sender: str = "whatsapp:+15145550123", channel: str = WHATSAPP):  # type: ignore[no-untyped-def]
    return conv.receive(Inbound(channel, sender, f"E{n}", text))


def test_a_question_asked_twice_without_an_answer_is_listed_and_holds_nothing_of_who_asked(
    conversations: Conversations, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ask(conversations, OFF_TOPIC, 1)
    assert conversations.store.gaps(at_least=2) == []  # once is not a gap yet
    ask(conversations, "where can I buy a cheap winter   coat in toronto?", 2, sender="987654", channel=TELEGRAM)
    ((language, question, count, _),) = conversations.store.gaps(at_least=2)
    assert (language, question, count) == ("en", "where can i buy a cheap winter coat in toronto?", 2)
    rows = conversations.store.db.conn.execute("SELECT * FROM gaps").fetchall()
    assert all("5145550123" not in str(r) and "987654" not in str(r) for r in rows)
    assert len(rows[0]) == 4  # language, question, count, last day: no person, no channel

    from bot.__main__ import main

    conversations.store.checkpoint()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_PEPPER", PEPPER)
    assert main(["kb", "gaps"]) == 0
    out, _ = capsys.readouterr()
    assert "2×" in out and "winter coat in toronto" in out


def test_answered_questions_are_not_gaps(conversations: Conversations) -> None:
    ask(conversations, "What is the Interim Federal Health Program?", 1)
    ask(conversations, "What is the Interim Federal Health Program?", 2)
    assert conversations.store.counts()["gaps"] == 0


def test_numbers_and_addresses_are_masked_before_counting() -> None:
    assert gap_form("My UCI 1234-5678 and phone 514 555 0123, mail me at a.b@example.org") == (
        "my uci # and phone #, mail me at @"
    )


def test_counting_can_be_switched_off(conversations: Conversations) -> None:
    conversations.record_gaps = False
    ask(conversations, OFF_TOPIC, 1)
    ask(conversations, OFF_TOPIC, 2)
    assert conversations.store.gaps(at_least=1) == []


def test_the_privacy_notice_says_unanswered_questions_are_counted(conversations: Conversations) -> None:
    (reply,) = ask(conversations, OFF_TOPIC, 1).messages
    assert "counted" in reply.text and "who asked" in reply.text


def test_gaps_are_forgotten_after_30_days(conversations: Conversations, clock: Clock, tmp_path: Path) -> None:
    ask(conversations, OFF_TOPIC, 1)
    ask(conversations, OFF_TOPIC, 2)
    clock.advance(days=31)
    conversations.purge()
    assert conversations.store.gaps(at_least=1) == []
    assert (tmp_path / DATABASE_FILE).exists()


# Identity markers in four languages: a name, a client id, a birth date, an address and a
# postal code, around a question the bot cannot answer.
MARKERS = {
    "en": (
        "Zubayda Qaddouri, UCI 1234/5678, born 12/05/1990, 4521 rue Saint-Denis H2X 1Y4: "
        "where can I buy a cheap winter coat?",
        ("zubayda", "qaddouri", "1234", "5678", "1990", "4521", "denis", "h2x", "1y4"),
    ),
    "fr": (
        "Je suis Marisol Vantongeren, né le 03/07/1985, j'habite 77 avenue Papineau J4K 2B8, "
        "c'est où la meilleure poutine?",
        ("marisol", "vantongeren", "1985", "papineau", "j4k", "2b8"),
    ),
    "es": (
        "Soy Eusebio Quispeluza, mi UCI es 9988-7766, vivo en 15 calle Berri H3C 4T2, "
        "¿dónde compro una chamarra barata?",
        ("eusebio", "quispeluza", "9988", "7766", "berri", "h3c", "4t2"),
    ),
    "ar": (
        "أنا زبيدة القدوري مواليد ١٩٩٠، رقمي ١٢٣٤٥٦٧٨، ساكنة في شارع بابينو، وين بلاقي معطف رخيص؟",
        ("زبيده", "القدوري", "١٩٩٠", "1990", "12345678", "بابينو"),
    ),
}


@pytest.mark.parametrize("language", sorted(MARKERS))
def test_no_identity_marker_reaches_the_gaps_in_any_language(conversations: Conversations, language: str) -> None:
    question, markers = MARKERS[language]
    for n in range(3):
        ask(conversations, question, n, sender=f"whatsapp:+1514555{n:04d}")
    rows = conversations.store.db.conn.execute("SELECT question FROM gaps").fetchall()
    kept = " ".join(str(r[0]) for r in rows)
    folded = kept.casefold()
    for marker in markers:
        assert marker.casefold() not in folded, (marker, kept)


def test_a_question_of_unknown_words_only_is_not_counted() -> None:
    known = frozenset({"where", "is", "the"})
    assert gap_form("Zubayda Qaddouri 4521", known) == ""
    assert gap_form("where is the Qaddouri bakery", known) == "where is the …"
    assert gap_form("where is the 4521 rue Saint-Denis", known) == "where is the …"
