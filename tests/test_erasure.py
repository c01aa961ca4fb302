"""Erasure as the person is promised it, through the real server, both channels and the
volunteer desk: nothing queued about them leaves after "I have erased everything"; the
bot's own room messages of their cases are deleted where Telegram allows; open cases do
not outlive the retention period; a replayed request is not answered again; a vote counts
once; and after `/forget` no table, queue, file or room message holds anything of them.
(Issue 14, items 4, 5, 6, 12 and 13, and its "Done when"; issue 18, item 2.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.conversation import TELEGRAM, WHATSAPP
from bot.core import Bot
from bot.storage import DATABASE_FILE
from tests.conftest import PEPPER, ROOM, Call, Clock, RecordingRequest, signed_whatsapp, whatsapp_form
from tests.test_desk import LEGAL_EN, LEGAL_ES, PERSON_ID, PHONE, World

# -- a Bot API as rude as the real one -------------------------------------------------------


def _error(code: int, description: str, **parameters: Any) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, json.dumps(body).encode()


class RudeTelegram(RecordingRequest):
    """The Bot API's network edge as Telegram behaves: a chat can be unreachable (502)
    while it is in `down`; `deleteMessage` deletes the bot's message only within 48 hours
    of sending it, and refuses an older or unknown one with Telegram's 400. Refused calls
    are not in `calls` (which holds what Telegram accepted) but in `refused`."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.down: set[int] = set()
        self.sent_at: dict[int, datetime] = {}
        self.deleted: list[int] = []
        self.refused: list[Call] = []
        self.delete_failures: list[tuple[int, bytes]] = []

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: Any = None, **timeouts: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if name == "sendMessage" and params.get("chat_id") in self.down:
            self.refused.append(Call(name, params))
            return _error(502, "Bad Gateway")
        if name == "deleteMessage":
            if self.delete_failures:
                self.refused.append(Call(name, params))
                return self.delete_failures.pop(0)
            message_id = int(params["message_id"])
            sent = self.sent_at.get(message_id)
            if sent is None or message_id in self.deleted:
                self.refused.append(Call(name, params))
                return _error(400, "Bad Request: message to delete not found")
            if self.clock() - sent > timedelta(hours=48):
                self.refused.append(Call(name, params))
                return _error(400, "Bad Request: message can't be deleted for everyone")
            self.calls.append(Call(name, params))
            self.deleted.append(message_id)
            return 200, b'{"ok": true, "result": true}'
        status, body = await super().do_request(url, method, request_data, **timeouts)
        if name == "sendMessage":
            self.sent_at[self._message_id] = self.clock()
        return status, body


@pytest.fixture
def world(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[World]:
    w = World(bot, tmp_path, clock)
    w.telegram = RudeTelegram(clock)
    w.restart()
    yield w
    w.stop()


def rude(world: World) -> RudeTelegram:
    assert isinstance(world.telegram, RudeTelegram)
    return world.telegram


def erased_notice(case: str) -> str:
    return f"#{case} was closed: the person erased their data."


def case_room_ids(world: World, case: str) -> list[int]:
    """The ids the fake Bot API gave the bot's room messages that show this case."""
    sent = world.telegram.sent()
    return [
        n
        for n, p in enumerate(sent, 1)
        if p["chat_id"] == ROOM and f"#{case}" in p["text"] and not p["text"].startswith("Open cases")
    ]


def tg_pseudonym(world: World) -> str:
    return world.conv.keys.pseudonym(TELEGRAM, str(PERSON_ID))


def after_retry(world: World) -> None:
    """Past every back-off, then a delivery pass."""
    world.clock.advance(minutes=10)
    world.deliver()


# -- 14.4: nothing queued about the person leaves after the erasure --------------------------


def test_a_room_post_still_queued_when_the_person_erases_is_never_delivered(world: World) -> None:
    rude(world).down.add(ROOM)
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.person_tg("It was refused on March 3. I have the letter.")
    about = world.conv.store.db.conn.execute("SELECT count(*) FROM outbox WHERE about = ?", (tg_pseudonym(world),))
    assert about.fetchone()[0] == 2  # the case's post and the relay wait, linked to the person
    assert world.room() == [] and len(rude(world).refused) >= 1
    world.person_tg("/forget")
    rude(world).down.clear()
    after_retry(world)
    assert world.room() == [erased_notice(case)]
    assert "erased everything" in world.to_person()[-1]
    assert world.conv.store.counts()["outbox"] == 0


def test_a_whatsapp_question_shared_then_erased_before_the_room_got_it_is_never_posted(world: World) -> None:
    rude(world).down.add(ROOM)
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    case = world.case_id()
    assert "Listo" in world.person_wa("olvidar")  # the confirmation, in the TwiML reply
    rude(world).down.clear()
    after_retry(world)
    assert world.room() == [erased_notice(case)]
    assert not any("asilo" in c.params.get("text", "") for c in world.telegram.calls)


def test_forget_then_yes_shares_nothing(world: World) -> None:
    """The question waiting for consent is erased with everything else: a "sí" after
    "olvidar" is an ordinary message, not a yes to a question that no longer exists."""
    world.person_wa(LEGAL_ES)
    world.person_wa("olvidar")
    world.person_wa("sí")
    assert world.room() == [] and world.conv.store.counts()["cases"] == 0


def test_a_room_message_that_left_while_the_person_erased_is_deleted(world: World) -> None:
    """The delivery worker sent a case's post, and the erasure ran before it recorded the
    message's id: the post is deleted as soon as its id is known."""
    rude(world).down.add(ROOM)
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.clock.advance(minutes=10)  # past the back-off: the worker takes it
    (on_its_way,) = [d for d in world.conv.pending(TELEGRAM) if d.message.case == case]
    world.person_tg("/forget")
    rude(world).down.clear()
    world.conv.delivered(on_its_way, (4242,))  # what the worker does once Telegram answered
    rude(world).sent_at[4242] = world.clock()
    after_retry(world)
    assert rude(world).deleted == [4242]
    assert world.conv.store.counts()["room_messages"] == 0 and world.conv.store.counts()["outbox"] == 0


# -- 14.5: the room's history ---------------------------------------------------------------


def test_erasure_deletes_the_bots_own_room_messages_of_the_case_and_says_what_stays(world: World) -> None:
    world.person_tg(LEGAL_EN)
    ask = world.to_person()[-1]
    assert "volunteers' own messages" in ask and "48 hours" in ask  # said before the yes
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer_button(f"claim:{case}")
    world.person_tg("It was refused on March 3. I have the letter.")
    world.volunteer("I will help you.", reply_to=case_room_ids(world, case)[-1])
    world.volunteer("/cases")  # a room message of the bot that is about no one's case
    shown = case_room_ids(world, case)
    assert len(shown) == 3  # the post, "claimed by", the relay
    world.person_tg("/forget")
    assert rude(world).deleted == shown
    assert world.room()[-1] == erased_notice(case)
    said = world.to_person()[-1]
    assert "erased everything" in said and "volunteers' own messages" in said and "48 hours" in said


@pytest.mark.parametrize(
    ("words", "stays"),
    [
        (("bénévole", "On a refusé ma demande d'asile. Dois-je faire appel ?", "oui", "oublier"), "48 heures"),
        (("voluntario", LEGAL_ES, "sí", "olvidar"), "48 horas"),
        (("متطوع", "رُفض طلب اللجوء الخاص بي. هل يجب أن أستأنف القرار؟", "نعم", "احذف"), "48 ساعة"),
    ],
)
def test_consent_and_erasure_say_what_stays_in_the_persons_language(
    world: World, words: tuple[str, ...], stays: str
) -> None:
    volunteer, question, yes, forget = words
    world.person_wa(volunteer)
    assert stays in world.person_wa(question)  # before the yes
    world.person_wa(yes)
    assert world.conv.store.counts()["cases"] == 1
    assert stays in world.person_wa(forget)


def test_a_person_without_a_case_is_not_told_about_the_volunteers_chat(world: World) -> None:
    world.person_tg("What is the Interim Federal Health Program?")
    world.person_tg("/forget")
    assert "48 hours" not in world.to_person()[-1]
    assert not [c for c in world.telegram.calls if c.method == "deleteMessage"]


def test_room_messages_older_than_48_hours_are_refused_and_the_erasure_still_completes(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    (old,) = case_room_ids(world, case)
    world.clock.advance(hours=49)
    world.person_tg("Still waiting, I have the letter now.")
    (_, recent) = case_room_ids(world, case)
    world.person_tg("/forget")
    assert rude(world).deleted == [recent]
    assert [c.params["message_id"] for c in rude(world).refused if c.method == "deleteMessage"] == [old]
    assert world.room()[-1] == erased_notice(case)
    assert world.conv.store.counts()["outbox"] == 0 and world.conv.store.counts()["room_messages"] == 0


def test_a_deletion_interrupted_by_the_network_resumes_where_it_stopped(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer_button(f"claim:{case}")
    world.person_tg("More details.")
    shown = case_room_ids(world, case)
    rude(world).delete_failures = [_error(429, "Too Many Requests: retry after 1", retry_after=1)]
    world.person_tg("/forget")  # waits as asked, then goes on
    assert rude(world).deleted == shown
    # Again, with the Bot API unreachable after the first deletion.
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.person_tg("More details.")
    shown = case_room_ids(world, case)
    rude(world).deleted.clear()
    real = rude(world).do_request
    calls = {"n": 0}

    async def flaky(url: str, method: str, request_data: Any = None, **timeouts: Any) -> tuple[int, bytes]:
        if url.endswith("deleteMessage"):
            calls["n"] += 1
            if calls["n"] == 2:
                return _error(502, "Bad Gateway")
        return await real(url, method, request_data, **timeouts)

    rude(world).do_request = flaky  # type: ignore[method-assign]
    world.person_tg("/forget")
    assert rude(world).deleted == shown[:1]
    assert world.room()[-1] != erased_notice(case)  # the notice waits behind the deletion
    after_retry(world)
    assert rude(world).deleted == shown  # each once: the retry starts at the second
    assert world.room()[-1] == erased_notice(case)
    assert world.conv.store.counts()["outbox"] == 0


# -- 14.6: open cases end with the retention period -----------------------------------------


def test_a_case_nobody_claimed_is_purged_after_the_retention_period_and_the_room_told(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.clock.advance(days=30)
    assert world.conv.purge().idle_cases == ()  # 30 days exactly: kept
    world.clock.advance(days=1)
    purged = world.conv.purge()
    assert purged.idle_cases == (case,) and purged.cases == 1
    counts = world.conv.store.counts()
    assert counts["cases"] == 0 and counts["case_messages"] == 0 and counts["room_messages"] == 0
    world.deliver()
    notice = world.room()[-1]
    assert notice == f"#{case} closed: nobody wrote in it for 30 days. Its messages were erased."
    assert "appeal" not in notice


def test_a_claimed_case_is_kept_while_someone_acts_in_it_then_purged_when_idle(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.clock.advance(days=5)
    world.volunteer(f"/claim {case}")
    world.clock.advance(days=5)
    world.volunteer(f"/reply {case} Do you have the letter?")  # the volunteer's last act: day 10
    world.clock.advance(days=25)  # day 35 since opening, 25 since the last act
    assert world.conv.purge().idle_cases == ()
    world.clock.advance(days=6)  # 31 days since the last act
    assert world.conv.purge().idle_cases == (case,)
    assert world.conv.store.case(case) is None


@pytest.mark.parametrize("last_act", ["claim", "person", "volunteer"])
def test_an_open_case_is_kept_until_its_last_act_is_exactly_the_retention_period_old(
    world: World, last_act: str
) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.clock.advance(days=3)
    if last_act != "claim":
        world.volunteer(f"/claim {case}")
        world.clock.advance(days=3)
    {
        "claim": lambda: world.volunteer(f"/claim {case}"),
        "person": lambda: world.person_tg("Any news?"),
        "volunteer": lambda: world.volunteer(f"/reply {case} Not yet."),
    }[last_act]()
    world.clock.advance(days=30)
    assert world.conv.purge().idle_cases == ()
    world.clock.advance(seconds=1)
    assert world.conv.purge().idle_cases == (case,)


def test_a_case_the_person_writes_in_is_not_idle(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.clock.advance(days=20)
    world.person_tg("Any news?")
    world.clock.advance(days=20)
    assert world.conv.purge().idle_cases == ()
    assert world.conv.store.case(case) is not None


# -- 14.12: a captured request replayed later -----------------------------------------------


@pytest.mark.parametrize("days", [2, 3, 45, 399])
def test_a_captured_signed_whatsapp_request_replayed_days_later_is_not_answered_again(world: World, days: int) -> None:
    form = whatsapp_form("captured", "What is the Interim Federal Health Program?", sender=PHONE)
    headers = signed_whatsapp(form)
    first = world.client.post("/whatsapp", data=form, headers=headers)
    assert first.status_code == 200 and "[1]" in first.text
    world.clock.advance(days=days)
    world.conv.purge()
    world.restart()  # and the purge at start-up
    again = world.client.post("/whatsapp", data=form, headers=headers)
    assert again.status_code == 200 and "<Message" not in again.text
    assert world.whatsapp_out() == []


def test_event_keys_are_purged_after_their_period(world: World) -> None:
    from bot.conversation import EVENT_DAYS

    world.person_wa("What is the Interim Federal Health Program?")
    world.clock.advance(days=EVENT_DAYS)
    assert world.conv.purge().events == 0
    world.clock.advance(days=1)
    assert world.conv.purge().events == 1


# -- 14.13: one vote per person per answer ----------------------------------------------------


def test_fifteen_thumbs_up_on_one_answer_count_once(world: World) -> None:
    world.person_tg("What is the Interim Federal Health Program?")
    keyboard = world.sent_to(PERSON_ID)[-1]["reply_markup"]["inline_keyboard"]
    up, down = (b["callback_data"] for b in keyboard[0])
    for _ in range(15):
        world.person_tg(button=up)
    world.person_tg(button=down)  # changing one's mind after voting counts nothing either
    counts = world.conv.store.passage_feedback()
    assert counts and all(v == (1, 0) for v in counts.values())
    user = world.conv.store.user(tg_pseudonym(world))
    assert user is not None and (user.helpful, user.unhelpful) == (1, 0)
    assert sum("Thank you" in t for t in world.to_person()) == 1
    # Another person's vote on the same answer counts.
    world.private(555001, "What is the Interim Federal Health Program?")
    world.post_tg(_button(world, 555001, up))
    assert all(v == (2, 0) for v in world.conv.store.passage_feedback().values())


def _button(world: World, user_id: int, data: str) -> dict[str, Any]:
    from tests.conftest import button_press

    return button_press(world._next(), data, user_id=user_id)


def test_a_vote_is_kept_as_a_keyed_hash_for_the_retention_period_and_erased_by_forget(world: World) -> None:
    world.person_tg("What is the Interim Federal Health Program?")
    keyboard = world.sent_to(PERSON_ID)[-1]["reply_markup"]["inline_keyboard"]
    up = keyboard[0][0]["callback_data"]
    world.person_tg(button=up)
    ((key, voter, day),) = world.conv.store.db.conn.execute("SELECT key, voter, day FROM votes").fetchall()
    assert day == world.clock.now.date().isoformat()
    assert voter == tg_pseudonym(world) and up.split(":")[-1] not in key and len(key) == 32
    world.clock.advance(days=30)
    world.conv.purge()
    assert world.conv.store.counts()["votes"] == 1
    world.clock.advance(days=1)
    world.conv.purge()
    assert world.conv.store.counts()["votes"] == 0
    world.person_tg(button=up)  # after the retention period, a vote is a new vote
    assert world.conv.store.counts()["votes"] == 1
    world.person_tg("/forget")
    assert world.conv.store.counts()["votes"] == 0


# -- issue 18, item 2: after /forget, every table, queue and pending consent is empty -----

# Tables that hold nothing about a person, and why. Every other table must hold no row of
# an erased person: a table added to the schema fails this test until it is placed here
# (with its reason) or erased by `Store.forget`.
ABOUT_NO_ONE = {
    "events": "keyed hashes of update ids and MessageSids, linked to no one",
    "passage_feedback": "votes per passage, with no person",
    "citations": "how often each passage was cited",
    "answer_counts": "answers per language and topic",
    "gaps": "unanswered questions in the words the bot knows, with no person",
    "audit": "volunteers' actions: volunteer id, case number, time; no text",
    "reply_counts": "replies per language and kind (answer, no answer, handoff, emergency)",
}
ABOUT_A_PERSON = {"users", "consents", "cases", "case_messages", "room_messages", "votes", "outbox"}
# A WhatsApp reply between its record and its response: about a person too, but this
# conversation is on Telegram (tests/test_hardening.py erases it with /forget).
ABOUT_A_WHATSAPP_PERSON = {"unsent_replies"}


def test_after_forget_every_table_queue_and_pending_consent_about_the_person_is_empty(world: World) -> None:
    assert set(world.conv.store.tables()) == ABOUT_A_PERSON | ABOUT_A_WHATSAPP_PERSON | set(ABOUT_NO_ONE)
    pseudonym = tg_pseudonym(world)
    # A closed case with messages both ways, a vote, and a second question waiting for a yes.
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.person_tg("It was refused on March 3.")
    world.volunteer(f"/reply {case} Please bring the letter.")
    world.volunteer(f"/close {case}")
    world.person_tg("What is the Interim Federal Health Program?")
    up = world.sent_to(PERSON_ID)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    world.person_tg(button=up)
    # While the person's chat and the room are unreachable: replies wait in the outbox.
    rude(world).down.update({ROOM, PERSON_ID})
    world.person_tg("What is the Interim Federal Health Program?")
    world.person_tg(LEGAL_EN)
    conn = world.conv.store.db.conn
    for table in ABOUT_A_PERSON:  # the check below could fail
        assert world.conv.store.counts()[table] > 0, table
    assert conn.execute("SELECT count(*) FROM outbox WHERE thread = ?", (pseudonym,)).fetchone()[0] > 0
    assert world.conv.store.consent(pseudonym) is not None
    rude(world).down.discard(PERSON_ID)
    before = len(world.telegram.calls)
    world.person_tg("/forget")
    # Confirmed at once: an erased message's retry time does not pass to a new one.
    assert "erased everything" in world.to_person()[-1]
    counts = world.conv.store.counts()
    for table in ABOUT_A_PERSON - {"outbox"}:
        assert counts[table] == 0, table
    assert world.conv.store.consent(pseudonym) is None
    # What may stay queued (the room is down) is about no one.
    left = conn.execute("SELECT thread, about, sealed FROM outbox").fetchall()
    assert all(thread != pseudonym and about is None for thread, about, _ in left)
    for _, _, sealed in left:
        assert "refused" not in world.conv.keys.unseal(sealed).decode()
    for table in ABOUT_NO_ONE:
        rows = conn.execute(f"SELECT * FROM {table}").fetchall()
        assert all(pseudonym not in str(row) for row in rows), table
    # Nothing about them is delivered afterwards: the confirmation, and the deletion of
    # the bot's room messages of their closed case.
    rude(world).down.clear()
    after_retry(world)
    later = [(c.method, c.params["chat_id"]) for c in world.telegram.calls[before:]]
    assert later.count(("sendMessage", PERSON_ID)) == 1 and ("sendMessage", ROOM) not in later
    assert "erased everything" in world.to_person()[-1]
    assert set(later) == {("sendMessage", PERSON_ID), ("deleteMessage", ROOM)}
    assert world.conv.store.counts()["outbox"] == 0


# -- issue 14, "Done when": no marker of the person anywhere after the erasure ----------------

NAME, NAME_AR = "Zubayda Qaddouri", "زبيدة قدوري"
PHONE_LIKE, PHONE_AR = "514-555-0199", "٥١٤-٥٥٥-٠١٩٩"
BORN = "12/05/1990"
ADDRESS, POSTAL = "4521 rue Saint-Denis", "H2X 1Y4"
MARKERS = [
    "Zubayda",
    "Qaddouri",
    "زبيدة",
    "قدوري",
    PHONE_LIKE,
    "5145550199",
    PHONE_AR,
    BORN,
    "Saint-Denis",
    POSTAL,
    "H2X1Y4",
    "Zqfirstmarker",
    "Zqlastmarker",
    "zq_marker_username",
    "Zqprofilemarker",
    "5145559876",
    str(PERSON_ID),
]


def marker_forms(marker: str) -> list[bytes]:
    forms = []
    for text in {marker, marker.casefold(), marker.upper()}:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            forms.append(text.encode(encoding))
    return forms


def found_markers(data: bytes) -> list[str]:
    return [m for m in MARKERS if any(form in data for form in marker_forms(m))]


def test_no_marker_of_the_person_survives_the_erasure_in_any_file_or_room_message(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Questions the bot cannot answer, with a name, numbers, a date and an address, in four
    # languages, on both channels.
    coat = f"My name is {NAME}, born {BORN}, phone {PHONE_LIKE}: where can I buy a cheap winter coat in Toronto?"
    world.person_tg(coat)
    world.person_wa(coat)
    world.person_wa(f"Je m'appelle {NAME}, née le {BORN}, au {ADDRESS} {POSTAL} : où acheter un manteau d'hiver ?")
    world.person_wa(f"Je suis {NAME} ({PHONE_LIKE}) : où acheter un manteau d'hiver pas cher ?")
    world.person_wa(f"اسمي {NAME_AR}، رقمي {PHONE_AR}، أين أشتري معطفًا شتويًا رخيصًا؟")
    # The desk on Telegram: consent, the case in the room, a claim, relays both ways.
    world.person_tg(f"I am {NAME} ({PHONE_LIKE}). {LEGAL_EN}")
    world.person_tg(button="consent:yes")
    tg_case = world.case_id()
    world.volunteer_button(f"claim:{tg_case}")
    world.person_tg(f"I live at {ADDRESS} {POSTAL}, born {BORN}.")
    world.volunteer(f"Thank you {NAME.split()[0]}, bring the letter.", reply_to=case_room_ids(world, tg_case)[-1])
    # And on WhatsApp, in Spanish.
    world.person_wa(f"Me llamo {NAME}, nací el {BORN}, vivo en {ADDRESS} {POSTAL}. {LEGAL_ES}")
    world.person_wa("sí")
    (wa_case,) = [c.id for c in world.conv.store.open_cases() if c.id != tg_case]
    world.volunteer(f"/claim {wa_case}")
    world.person_wa(f"Mi teléfono es {PHONE_LIKE}.")
    world.volunteer(f"/reply {wa_case} Hola {NAME.split()[0]}, ¿tiene la carta?")
    assert any(NAME in text for text in world.room())  # the markers did reach the room before
    # Maintainers list the gaps: the questions were counted, without the markers.
    world.conv.store.checkpoint()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_PEPPER", PEPPER)
    from bot.__main__ import main

    assert main(["kb", "gaps"]) == 0
    listed, _ = capsys.readouterr()
    assert "coat" in listed or "manteau" in listed
    assert found_markers(listed.encode()) == []
    # The person erases everything, on both channels.
    room_before = len(world.room())
    calls_before = len(world.telegram.calls)
    world.person_tg("/forget")
    world.person_wa("olvidar")
    world.deliver()
    assert world.conv.store.counts()["cases"] == 0
    # What the room receives afterwards holds none of them.
    after = world.telegram.calls[calls_before:]
    assert any(c.method == "deleteMessage" for c in after)
    to_room = [c for c in after if c.params.get("chat_id") == ROOM]
    assert found_markers(json.dumps([c.params for c in to_room], ensure_ascii=False).encode()) == []
    assert len(world.room()) == room_before + 2  # the two "erased their data" notices
    # No file of the data folder holds any of them: raw, UTF-8 and UTF-16, free pages
    # included (they are read as part of the files; secure_delete zeroes them).
    conn = world.conv.store.db.conn
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    world.stop()
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert any(p.name == DATABASE_FILE for p in files)
    for path in files:
        assert found_markers(path.read_bytes()) == [], path.name
    world.start()  # for the fixture's stop


def test_the_marker_scan_can_fail() -> None:
    """The scan above finds a marker in each form it claims to check."""
    for marker in (NAME, PHONE_AR, POSTAL):
        for form in marker_forms(marker):
            assert found_markers(b"\x00" + form + b"\x00")
    assert found_markers(WHATSAPP.encode()) == []
