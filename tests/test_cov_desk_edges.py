"""The volunteer desk at its edges, end to end with the `World` of tests/test_desk.py:
wrong or missing case numbers, who may act, asking for a volunteer before having a
question, answers to the consent question that are neither yes nor no, ratings, the
expected wait, volunteer hours, and messages that can never be delivered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from bot.core import Bot
from bot.desk import consent_word
from bot.messages import TELEGRAM, Inbound
from tests.conftest import LISTED_VOLUNTEER, ROOM, VOLUNTEER, Clock, room_button
from tests.test_desk import LEGAL_EN, LEGAL_ES, PERSON_ID, World

STRANGER = 55555
FORBIDDEN = (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})


@pytest.fixture
def world(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[World]:
    w = World(bot, tmp_path, clock)
    yield w
    w.stop()


@pytest.fixture
def make_world(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[Any]:
    made: list[World] = []

    def _make(**settings: Any) -> World:
        made.append(World(bot, tmp_path, clock, **settings))
        return made[-1]

    yield _make
    for w in made:
        w.stop()


def open_telegram_case(world: World) -> str:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    return world.case_id()


def button_from(world: World, chat_id: int, data: str) -> None:
    """A button press in a private chat with the bot (not the room)."""
    update = room_button(world._next(), data, user_id=chat_id)
    update["callback_query"]["message"]["chat"] = {"id": chat_id, "type": "private"}
    world.post_tg(update)


# -- the volunteers' side ------------------------------------------------------------


def test_commands_without_a_case_number_or_reply_text_explain_how_to_write_them(world: World) -> None:
    case = open_telegram_case(world)
    world.volunteer("/claim")
    assert world.room()[-1] == "Write the case number, for example: /claim A7K2"
    world.volunteer("/close@newcomer_bot")
    assert world.room()[-1] == "Write the case number, for example: /close A7K2"
    world.volunteer(f"/claim {case}")
    world.volunteer(f"/reply {case}   ")
    assert world.room()[-1] == "Write the reply after the case number: /reply A7K2 your text"
    assert not any(t.startswith("Volunteer:") for t in world.to_person())


def test_an_unknown_or_closed_case_number_is_answered_plainly_and_changes_nothing(world: World) -> None:
    world.volunteer("/cases")
    assert world.room()[-1] == "No open cases."
    world.volunteer("/claim ZZZZ")
    assert world.room()[-1] == "There is no open case #ZZZZ."
    world.volunteer("/close #zzzz")  # the # and the case of the letters do not matter
    assert world.room()[-1] == "There is no open case #ZZZZ."
    case = open_telegram_case(world)
    world.volunteer(f"/close {case}")
    before = len(world.to_person())
    world.volunteer(f"/close {case}")
    world.volunteer(f"/claim {case}")
    assert world.room()[-2:] == [f"There is no open case #{case}."] * 2
    assert len(world.to_person()) == before  # the person is not told twice
    assert [a for _, a, c, _ in world.conv.store.audit_trail() if c == case] == ["close"]


def test_room_talk_that_is_not_a_command_or_a_reply_to_a_case_is_ignored(world: World) -> None:
    case = open_telegram_case(world)
    world.volunteer(f"/claim {case}")
    world.volunteer("/cases")
    sent_before = len(world.telegram.sent())
    listing_id = len(world.telegram.sent())  # the recording numbers sent messages in order
    world.volunteer("I can take the next one after lunch")
    world.volunteer("Thanks, Nadia!", reply_to=listing_id)  # a reply to the listing, not to the case
    world.volunteer("Hello?", reply_to=999_999)
    assert len(world.telegram.sent()) == sent_before
    assert [a for _, a, c, _ in world.conv.store.audit_trail() if c == case] == ["claim"]


def test_a_claim_button_pressed_outside_the_room_works_only_for_a_listed_volunteer(world: World) -> None:
    case = open_telegram_case(world)
    button_from(world, STRANGER, f"claim:{case}")
    assert [p["text"] for p in world.sent_to(STRANGER)] == ["Not authorised."]
    assert world.conv.store.case(case).state == "waiting"  # type: ignore[union-attr]
    button_from(world, LISTED_VOLUNTEER, f"claim:{case}")
    assert world.conv.store.case(case).volunteer_id == LISTED_VOLUNTEER  # type: ignore[union-attr]
    assert "volunteer is now reading" in world.to_person()[-1]


def test_a_whatsapp_sender_typing_volunteer_commands_is_not_authorised(world: World) -> None:
    case = open_telegram_case(world)
    assert world.person_wa(f"/claim {case}") == "Not authorised."
    assert world.person_wa("/cases") == "Not authorised."
    assert world.conv.store.case(case).state == "waiting"  # type: ignore[union-attr]
    assert not any("#" in t and "claimed" in t for t in world.room())


def test_only_numeric_telegram_ids_listed_in_volunteer_ids_authorise_a_private_chat(world: World) -> None:
    desk = world.conv.desk
    assert desk is not None
    assert desk.authorised(Inbound(TELEGRAM, str(LISTED_VOLUNTEER), "e1", "/cases"))
    assert not desk.authorised(Inbound(TELEGRAM, "@listed_volunteer", "e2", "/cases"))
    assert not desk.authorised(Inbound(TELEGRAM, str(STRANGER), "e3", "/cases"))
    assert desk.authorised(Inbound(TELEGRAM, str(STRANGER), "e4", "/cases", room=True))


# -- the person's side ---------------------------------------------------------------


def test_the_volunteer_button_asks_for_the_question_then_consent_for_exactly_that_question(world: World) -> None:
    world.person_tg("/start")
    world.person_tg(button="volunteer")
    assert world.to_person()[-1].startswith("Write your question for the volunteer in one message")
    # Danger is answered at once, and is not taken for the question.
    world.person_tg("I want to kill myself tonight")
    assert "9-8-8" in world.to_person()[-1]
    world.person_tg("My hearing is next week, can you help me prepare?")
    ask = world.sent_to(PERSON_ID)[-1]
    assert "case number" in ask["text"]
    assert [b["callback_data"] for b in ask["reply_markup"]["inline_keyboard"][0]] == ["consent:yes", "consent:no"]
    world.person_tg(button="consent:yes")
    (post,) = world.room()
    assert post.endswith("My hearing is next week, can you help me prepare?")
    assert "kill" not in post


def test_yes_before_any_question_asks_for_the_question_again(world: World) -> None:
    world.person_tg("/start")
    world.person_tg(button="volunteer")
    world.person_tg(button="consent:yes")
    assert world.to_person()[-1].startswith("Write your question for the volunteer")
    assert world.room() == [] and world.conv.store.counts()["cases"] == 0


def test_anything_but_yes_or_no_to_the_consent_question_shares_nothing_and_is_answered(world: World) -> None:
    world.person_wa(LEGAL_ES)
    reply = world.person_wa("¿Qué es el Programa Federal de Salud Interino?")
    assert "[1]" in reply
    assert world.conv.store.counts()["consents"] == 0
    assert world.person_wa("sí") != "" and world.conv.store.counts()["cases"] == 0
    assert world.room() == []
    assert (consent_word("¡Sí!"), consent_word("non."), consent_word("maybe")) == (True, False, None)


def test_asking_for_a_volunteer_during_an_open_case_says_the_case_is_open(world: World) -> None:
    case = open_telegram_case(world)
    world.person_tg("/volunteer")
    assert world.to_person()[-1].startswith(f"Your case #{case} is open. Until the case is closed")
    assert world.conv.store.counts()["cases"] == 1
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    (whatsapp_case,) = [c.id for c in world.conv.store.open_cases() if c.channel == "whatsapp"]
    told = world.person_wa("voluntario")
    assert told.startswith(f"Su caso #{whatsapp_case} está abierto.")
    assert "«bot»" in told and "«terminar»" in told  # WhatsApp has no commands: the words to write


def test_during_a_case_a_photo_gets_text_only_and_bot_commands_are_answered_by_the_bot(world: World) -> None:
    case = open_telegram_case(world)
    world.person_tg("I am adding details.")
    assert world.to_person()[-1] == f"Added to your case #{case}."
    world.post_tg(
        {
            "update_id": world._next(),
            "message": {
                "message_id": 1,
                "date": 1763726400,
                "chat": {"id": PERSON_ID, "type": "private"},
                "from": {"id": PERSON_ID, "is_bot": False, "first_name": "P", "language_code": "en"},
                "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 1, "height": 1}],
            },
        }
    )
    assert "text only" in world.to_person()[-1]
    world.person_tg("/privacy")
    assert "/forget" in world.to_person()[-1]
    assert world.room()[-1] == f"#{case} › I am adding details."  # neither the photo nor /privacy


def test_forget_without_a_case_tells_the_room_nothing(world: World) -> None:
    world.person_tg("What is the Interim Federal Health Program?")
    world.person_tg("/forget")
    assert "erased" in world.to_person()[-1]
    assert world.room() == []


def test_a_closed_case_is_rated_once_within_a_day_by_its_person_only(world: World) -> None:
    case = open_telegram_case(world)
    world.volunteer(f"/close {case}")
    button_from(world, STRANGER, f"rate:-:{case}")  # someone else's press counts for nothing
    assert world.conv.store.case(case).rating is None  # type: ignore[union-attr]
    world.person_tg(button=f"rate:+:{case}")
    assert world.to_person()[-1].startswith("Thank you")
    before = len(world.to_person())
    world.person_tg(button=f"rate:-:{case}")
    assert world.conv.store.case(case).rating == 1  # type: ignore[union-attr]
    assert len(world.to_person()) == before  # a second press is silent


def test_on_whatsapp_a_thumb_after_the_close_rates_the_last_case_but_not_after_a_day(world: World) -> None:
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    first = world.case_id()
    world.volunteer(f"/close {first}")
    assert world.person_wa("👍").startswith("Gracias")
    assert world.conv.store.case(first).rating == 1  # type: ignore[union-attr]
    world.clock.advance(minutes=5)
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    second = world.case_id()
    world.volunteer(f"/close {second}")
    world.clock.advance(days=1, minutes=1)
    late = world.person_wa("👎")
    assert world.conv.store.case(second).rating is None  # type: ignore[union-attr]
    assert not late.startswith("Gracias")  # answered as any message instead


# -- the expected wait and volunteer hours -------------------------------------------


def test_after_three_claims_the_person_is_told_the_usual_wait(world: World) -> None:
    for minutes in (8, 10, 30):
        case = open_telegram_case(world)
        world.clock.advance(minutes=minutes)
        world.volunteer(f"/claim {case}")
        world.volunteer(f"/close {case}")
    world.person_tg(LEGAL_EN)
    assert "A volunteer usually answers within about 10 minutes." in world.to_person()[-1]


@pytest.mark.parametrize(
    ("hours", "told"),
    [
        ((time(6), time(22)), r"A volunteer will answer as soon as one is free"),  # 07:00 in Toronto: open
        ((time(3), time(6)), r"from Sun, Nov(?:ember)? 22, 3:00"),  # closed for today: tomorrow
        ((time(22), time(6)), r"from Sat, Nov(?:ember)? 21, 10:00"),  # overnight hours: tonight
    ],
)
def test_the_wait_follows_the_volunteer_hours_in_their_time_zone(
    make_world: Any, hours: tuple[time, time], told: str
) -> None:
    # The day and hour are the bot's; how the month is abbreviated is CLDR's, and changes
    # with Babel's version (2.19 writes "November" where earlier ones wrote "Nov").
    world = make_world(volunteer_hours=hours)  # the clock says 12:00 UTC, 07:00 in Toronto
    world.person_tg(LEGAL_EN)
    assert re.search(told, world.to_person()[-1])


# -- what cannot be delivered --------------------------------------------------------


def test_a_volunteer_reply_to_a_person_who_blocked_the_bot_is_reported_to_the_room(world: World) -> None:
    world.telegram.failures.append(FORBIDDEN)
    world.person_tg(LEGAL_EN)  # the consent question never arrives: nothing for the room
    assert world.room() == [] and world.conv.store.counts()["outbox"] == 0
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.telegram.failures.append(FORBIDDEN)
    world.volunteer(f"/reply {case} Are you still there?")
    assert world.room()[-1] == f"A message of #{case} could not be delivered to the person."
    assert world.conv.store.counts()["outbox"] == 0


def test_a_whatsapp_reply_twilio_refuses_for_good_is_dropped_and_reported_to_the_room(world: World) -> None:
    refused = (400, {"code": 63024, "message": "Invalid message recipient", "status": 400})
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    case = world.case_id()
    world.twilio.failures.append(refused)
    world.volunteer(f"/claim {case}")  # the "a volunteer is reading" notice is refused: not a case message
    assert not any("could not be delivered" in t for t in world.room())
    world.twilio.failures.append(refused)
    world.volunteer(f"/reply {case} Hola, ¿sigue ahí?")
    world.deliver()  # the room's notice leaves with the next delivery pass (every few seconds)
    assert world.room()[-1] == f"A message of #{case} could not be delivered to the person."
    assert len(world.whatsapp_out()) == 2  # each tried once, never retried
    assert world.conv.store.counts()["outbox"] == 0


def test_the_room_sees_volunteer_ids_only_in_the_audit_trail(world: World) -> None:
    case = open_telegram_case(world)
    world.volunteer(f"/claim {case}")
    assert all(str(VOLUNTEER) not in t for t in world.room())
    assert world.conv.store.audit_trail()[0][:3] == (VOLUNTEER, "claim", case)
    assert all(p["chat_id"] in (ROOM, PERSON_ID) for p in world.telegram.sent())
