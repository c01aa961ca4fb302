"""The volunteer desk, end to end on both channels: a person on Telegram or WhatsApp, a
volunteers' room on Telegram, real python-telegram-bot and twilio clients recording
their network calls, a real database, a clock the tests move."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from twilio.rest import Client

from bot.app import build_conversations
from bot.core import Bot
from bot.server import create_app
from tests.conftest import (
    LISTED_VOLUNTEER,
    ROOM,
    TELEGRAM_HEADERS,
    TWILIO_TOKEN,
    VOLUNTEER,
    Clock,
    RecordingRequest,
    RecordingTwilio,
    button_press,
    channel_settings,
    in_portal,
    room_button,
    room_message,
    signed_whatsapp,
    telegram_update,
    twiml_messages,
    whatsapp_form,
)

# Unique values in every identity field: none may ever reach the room.
PERSON_ID = 918273645
PERSON_USERNAME = "zq_marker_username"
PERSON_FIRST = "Zqfirstmarker"
PERSON_LAST = "Zqlastmarker"
PHONE = "whatsapp:+15145559876"
PROFILE = "Zqprofilemarker"
IDENTITIES = [str(PERSON_ID), PERSON_USERNAME, PERSON_FIRST, PERSON_LAST, "5145559876", PROFILE]

LEGAL_EN = "My asylum claim was refused last week. Should I appeal the decision?"
LEGAL_ES = "Me rechazaron la solicitud de asilo. ¿Debo apelar la decisión?"


class World:
    """One deployment: the server, its database, the two platforms' edges."""

    def __init__(self, bot: Bot, tmp_path: Path, clock: Clock, **settings: Any) -> None:
        values: dict[str, Any] = {"volunteer_chat_id": ROOM, "volunteer_ids": frozenset({LISTED_VOLUNTEER})}
        values.update(settings)
        self.settings = channel_settings(tmp_path, **values)
        self.bot, self.clock = bot, clock
        self.telegram = RecordingRequest()
        self.twilio = RecordingTwilio()
        self.updates = 0
        self.start()

    def start(self) -> None:
        self.conv = build_conversations(self.settings, self.bot, now=self.clock)
        client = Client("AC0000", TWILIO_TOKEN, http_client=self.twilio)
        self.app = create_app(
            self.settings, self.conv, telegram_request=self.telegram, twilio_client=client, background=False
        )
        self.client = TestClient(self.app)
        self.client.__enter__()

    def stop(self) -> None:
        self.client.__exit__(None, None, None)
        self.conv.store.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _next(self) -> int:
        self.updates += 1
        return self.updates

    def person_tg(self, text: str | None = None, *, button: str = "", language: str = "en") -> None:
        if button:
            update = button_press(self._next(), button, user_id=PERSON_ID, language_code=language)
        else:
            update = telegram_update(self._next(), text, user_id=PERSON_ID, language_code=language)
            update["message"]["from"].update(first_name=PERSON_FIRST, last_name=PERSON_LAST, username=PERSON_USERNAME)
            update["message"]["chat"].update(first_name=PERSON_FIRST, last_name=PERSON_LAST, username=PERSON_USERNAME)
        self.post_tg(update)

    def person_wa(self, text: str) -> str:
        form = whatsapp_form(f"SM{self._next():06d}", text, sender=PHONE, ProfileName=PROFILE)
        response = self.client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
        assert response.status_code == 200
        return "".join(twiml_messages(response.text))

    def volunteer(self, text: str, *, user_id: int = VOLUNTEER, reply_to: int | None = None) -> None:
        self.post_tg(room_message(self._next(), text, user_id=user_id, reply_to=reply_to))

    def volunteer_button(self, data: str, *, user_id: int = VOLUNTEER) -> None:
        self.post_tg(room_button(self._next(), data, user_id=user_id))

    def private(self, user_id: int, text: str) -> None:
        self.post_tg(telegram_update(self._next(), text, user_id=user_id))

    def post_tg(self, update: dict[str, Any]) -> None:
        headers = TELEGRAM_HEADERS
        assert self.client.post("/telegram", json=update, headers=headers).status_code == 200

    def deliver(self) -> None:
        in_portal(self.client, self.app.state.channels.deliver)

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [p for p in self.telegram.sent() if p["chat_id"] == chat_id]

    def room(self) -> list[str]:
        return [p["text"] for p in self.sent_to(ROOM)]

    def to_person(self) -> list[str]:
        return [p["text"] for p in self.sent_to(PERSON_ID)]

    def whatsapp_out(self) -> list[dict[str, Any]]:
        return self.twilio.sent()

    def case_id(self) -> str:
        (case,) = self.conv.store.open_cases()
        return case.id

    def root_message_id(self) -> int:
        case = self.conv.store.case(self.case_id())
        assert case is not None and case.root_message_id is not None
        return case.root_message_id


@pytest.fixture
def world(bot: Bot, tmp_path: Path, clock: Clock) -> Iterator[World]:
    w = World(bot, tmp_path, clock)
    yield w
    w.stop()


def test_a_legal_question_asks_for_consent_and_a_no_shares_nothing(world: World) -> None:
    world.person_tg(LEGAL_EN)
    ask = world.sent_to(PERSON_ID)[-1]
    assert "case number" in ask["text"] and "not lawyers" in ask["text"]
    labels = [b["callback_data"] for row in ask["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["consent:yes", "consent:no"]
    world.person_tg(button="consent:no")
    assert world.room() == [] and world.conv.store.counts()["cases"] == 0
    assert "Nothing was shared" in world.to_person()[-1]
    # General information still comes.
    world.person_tg("What is the Interim Federal Health Program?")
    assert "[1]" in world.to_person()[-1]


def test_a_typed_no_in_spanish_on_whatsapp_shares_nothing(world: World) -> None:
    ask = world.person_wa(LEGAL_ES)
    assert "«sí»" in ask or '"sí"' in ask or "sí" in ask
    reply = world.person_wa("no")
    assert world.room() == [] and world.conv.store.counts()["cases"] == 0
    assert reply and "[1]" not in reply


def test_telegram_case_from_consent_to_close_with_relays_both_ways(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    (post,) = world.room()
    assert f"#{case}" in post and "English" in post and "Telegram" in post and "appeal" in post
    assert f"#{case}" in world.to_person()[-1]

    world.volunteer_button(f"claim:{case}")
    assert "claimed by" in world.room()[-1]
    assert "volunteer is now reading" in world.to_person()[-1]

    world.person_tg("It was refused on March 3. I have the letter.")
    relay = world.sent_to(ROOM)[-1]
    assert relay["text"] == f"#{case} › It was refused on March 3. I have the letter."
    assert relay["reply_parameters"]["message_id"] == world.root_message_id()

    # The volunteer answers by replying to the relayed message.
    relayed_id = world.telegram.calls[-1]  # the recording gives message ids in order
    assert relayed_id.method == "sendMessage"
    world.volunteer("Please contact a lawyer this week; I can help you find one.", reply_to=_last_room_id(world))
    assert world.to_person()[-1].startswith("Volunteer: Please contact a lawyer")
    world.volunteer(f"/reply {case} You can also call legal aid.")
    assert world.to_person()[-1] == "Volunteer: You can also call legal aid."

    world.volunteer(f"/close {case}")
    assert "closed" in world.to_person()[-1]
    assert world.conv.store.case(case).state == "closed"  # type: ignore[union-attr]
    assert world.conv.store.case(case).sealed_address is None  # type: ignore[union-attr]
    world.person_tg(button=f"rate:+:{case}")
    assert world.conv.store.case(case).rating == 1  # type: ignore[union-attr]
    # The bot answers by itself again.
    world.person_tg("What is the Interim Federal Health Program?")
    assert "[1]" in world.to_person()[-1]
    assert [a for _, a, c, _ in world.conv.store.audit_trail() if c == case] == ["claim", "reply", "reply", "close"]


def _last_room_id(world: World) -> int:
    """The message id the fake Bot API gave the last message sent to the room."""
    ids = [
        n
        for n, c in enumerate([c for c in world.telegram.calls if c.method == "sendMessage"], 1)
        if c.params["chat_id"] == ROOM
    ]
    return ids[-1]


def test_whatsapp_case_relays_through_twilio_and_the_bot_command_still_answers(world: World) -> None:
    world.person_wa(LEGAL_ES)
    opened = world.person_wa("sí")
    case = world.case_id()
    assert f"#{case}" in opened
    assert "Español" in world.room()[0] and "WhatsApp" in world.room()[0]
    world.volunteer(f"/claim {case}")
    (told,) = world.whatsapp_out()
    assert told["To"] == PHONE and told["From"] == "whatsapp:+10000000000" and f"#{case}" in told["Body"]
    assert world.person_wa("Tengo la carta de rechazo.") == ""  # relayed, not answered by the bot
    assert world.room()[-1] == f"#{case} › Tengo la carta de rechazo."
    world.volunteer(f"/reply {case} Hola, la ayudo con gusto.")
    assert world.whatsapp_out()[-1]["Body"] == "Persona voluntaria: Hola, la ayudo con gusto."
    answer = world.person_wa("bot ¿Qué es el Programa Federal de Salud Interino?")
    assert "[1]" in answer
    closed = world.person_wa("terminar")
    assert "#" in closed and world.conv.store.case(case).state == "closed"  # type: ignore[union-attr]
    assert "terminar" not in world.room()[-1]


def test_a_second_claim_is_refused(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.volunteer(f"/claim {case}", user_id=VOLUNTEER + 7)
    assert "already claimed" in world.room()[-1]
    world.volunteer(f"/reply {case} I'll take it", user_id=VOLUNTEER + 7)
    assert "Claim" in world.room()[-1]
    assert not any(t.startswith("Volunteer: I'll take it") for t in world.to_person())


def test_someone_outside_the_room_gets_not_authorised_and_nothing_else(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    stranger = 55555
    world.private(stranger, f"/claim {case}")
    world.private(stranger, "/cases")
    replies = [p["text"] for p in world.sent_to(stranger)]
    assert replies == ["Not authorised.", "Not authorised."]
    assert world.conv.store.case(case).state == "waiting"  # type: ignore[union-attr]
    # A listed volunteer may act from a private chat.
    world.private(LISTED_VOLUNTEER, f"/claim {case}")
    assert world.conv.store.case(case).state == "claimed"  # type: ignore[union-attr]


def test_a_strangers_volunteer_commands_count_against_the_rate_limit(world: World) -> None:
    stranger = 55556
    for _ in range(40):
        world.private(stranger, "/cases")
    replies = [p["text"] for p in world.sent_to(stranger)]
    limit = world.conv.rate_limit
    assert replies[:limit] == ["Not authorised."] * limit
    assert len(replies) == limit + 1 and replies[-1] != "Not authorised."  # one notice, then silence
    # A listed volunteer is not limited by a stranger's flood.
    world.private(LISTED_VOLUNTEER, "/cases")
    assert world.sent_to(LISTED_VOLUNTEER)


def test_forget_during_an_open_case_closes_and_erases_it(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.person_tg("/forget")
    assert "erased their data" in world.room()[-1]
    counts = world.conv.store.counts()
    assert counts["cases"] == 0 and counts["case_messages"] == 0 and counts["room_messages"] == 0
    world.volunteer(f"/reply {case} hello?")
    assert "no open case" in world.room()[-1].lower()


def test_a_case_survives_a_restart_in_the_middle_of_a_relay(world: World) -> None:
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.restart()
    world.person_wa("¿Sigue ahí?")
    assert world.room()[-1] == f"#{case} › ¿Sigue ahí?"
    world.volunteer("Sí, aquí estoy.", reply_to=_last_room_id(world))
    assert world.whatsapp_out()[-1]["Body"].endswith("Sí, aquí estoy.")


def test_an_unclaimed_case_reminds_the_room_and_tells_the_person_once(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.clock.advance(minutes=10)
    assert world.conv.remind() == 0
    world.clock.advance(minutes=6)
    assert world.conv.remind() == 2
    world.deliver()
    assert f"/claim {case}" in world.room()[-1] and "16 minutes" in world.room()[-1]
    assert "not forgotten" in world.to_person()[-1]
    world.clock.advance(minutes=30)
    assert world.conv.remind() == 0


def test_outside_volunteer_hours_the_person_is_told_when_someone_will_read_it(
    bot: Bot, tmp_path: Path, clock: Clock
) -> None:
    from datetime import time

    # 12:00 UTC is 07:00 in Toronto: before 09:00.
    world = World(bot, tmp_path, clock, volunteer_hours=(time(9), time(17)))
    try:
        world.person_tg(LEGAL_EN)
        assert "Volunteers are not available now" in world.to_person()[-1]
        assert "9:00" in world.to_person()[-1] and "Toronto" in world.to_person()[-1]
    finally:
        world.stop()


def test_a_late_whatsapp_reply_without_a_template_is_reported_not_claimed(world: World) -> None:
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    before = len(world.whatsapp_out())
    world.clock.advance(hours=25)
    world.volunteer(f"/reply {case} Perdón por la demora.")
    assert len(world.whatsapp_out()) == before
    assert "Not delivered" in world.room()[-1] and "TWILIO_TEMPLATE_SID" in world.room()[-1]


def test_a_late_whatsapp_reply_sends_the_template_and_waits_for_the_person(
    bot: Bot, tmp_path: Path, clock: Clock
) -> None:
    world = World(bot, tmp_path, clock, twilio_template_sid="HX0123456789abcdef")
    try:
        world.person_wa(LEGAL_ES)
        world.person_wa("sí")
        case = world.case_id()
        world.volunteer(f"/claim {case}")
        world.clock.advance(hours=30)
        world.volunteer(f"/reply {case} Perdón por la demora.")
        template = world.whatsapp_out()[-1]
        assert template.get("ContentSid") == "HX0123456789abcdef" and "Body" not in template
        assert "template was sent" in world.room()[-1]
        world.person_wa("Hola, ya estoy aquí")
        assert world.whatsapp_out()[-1]["Body"].endswith("Perdón por la demora.")
    finally:
        world.stop()


def test_a_failed_twilio_send_is_retried_and_delivered_once(world: World) -> None:
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    case = world.case_id()
    world.twilio.failures.append((503, {"code": 20503, "message": "Service Unavailable", "status": 503}))
    world.volunteer(f"/claim {case}")
    assert world.whatsapp_out() == [world.twilio.sent()[0]]  # the failed attempt
    world.deliver()
    assert len(world.whatsapp_out()) == 1  # backing off
    world.clock.advance(seconds=1)
    world.deliver()
    bodies = [m["Body"] for m in world.whatsapp_out()]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    world.deliver()
    assert len(world.whatsapp_out()) == 2


def test_nothing_posted_to_the_room_identifies_the_person(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.person_tg("More details about my case")
    world.volunteer("/cases")
    world.volunteer("/stats")
    world.person_tg("/end")
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    world.clock.advance(minutes=20)
    world.conv.remind()
    world.deliver()
    world.person_wa("/forget")
    room = [json.dumps(c.params, ensure_ascii=False) for c in world.telegram.calls if c.params.get("chat_id") == ROOM]
    assert len(room) >= 8
    for posted in room:
        for identity in IDENTITIES:
            assert identity not in posted


def test_cases_lists_by_age_and_stats_count_without_content(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    first = world.case_id()
    world.clock.advance(minutes=5)
    world.person_wa(LEGAL_ES)
    world.person_wa("sí")
    world.volunteer(f"/claim {first}")
    world.volunteer("/cases")
    listing = world.room()[-1]
    assert listing.index(f"#{first}") < listing.index("WhatsApp")
    world.volunteer("/stats")
    stats = world.room()[-1]
    assert "Open: 2" in stats and "waiting: 1" in stats and "appeal" not in stats


def test_a_closed_case_and_its_messages_are_purged_after_the_retention_period(world: World) -> None:
    world.person_tg(LEGAL_EN)
    world.person_tg(button="consent:yes")
    case = world.case_id()
    world.volunteer(f"/claim {case}")
    world.person_tg("More details")
    world.volunteer(f"/close {case}")
    assert world.conv.store.counts()["case_messages"] == 2
    world.clock.advance(days=29)
    assert world.conv.purge().cases == 0
    world.clock.advance(days=2)
    assert world.conv.purge().cases == 1
    counts = world.conv.store.counts()
    assert counts["cases"] == 0 and counts["case_messages"] == 0 and counts["room_messages"] == 0
    assert len(world.conv.store.audit_trail()) == 2  # actions stay recorded, without text
