"""The volunteer desk: legal questions handed to a person, without exposing anyone.

Owns consent (nothing is shared without a yes), cases (short numbers such as `A7K2`),
what the volunteers' room sees (the question, its language, the channel type, the case
number: never a phone number, chat id, username or profile name), claims (one
volunteer at a time), relays in both directions, closing and rating, reminders when no
one claims a case, volunteer hours, WhatsApp's 24-hour window, the audit trail of
volunteer actions, and the sealing of reply addresses and case messages.

The desk returns `Send` values (messages to the room or to a person on their channel)
and replies for the event being processed; the conversation layer queues them.

May import: the standard library and the bot's i18n, keys, messages and storage modules.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import LANGUAGE_NAMES, Messages, right_to_left
from bot.keys import Keys
from bot.messages import TELEGRAM, WHATSAPP, Button, Inbound, Outbound, Send, info
from bot.storage import Case, Store

ROOM_THREAD = "room"
# Unambiguous letters and digits: no 0/O, 1/I/L, 5/S, 8/B when read aloud or typed.
CASE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY234679"
CASE_LENGTH = 4
WHATSAPP_WINDOW = timedelta(hours=24)
# A closed case can be rated for this long.
RATING_WINDOW = timedelta(days=1)
# Delays to claim that make the "expected wait" (when there are enough of them).
WAIT_SAMPLE_DAYS = 30
WAIT_SAMPLE_MIN = 3
VOLUNTEER_COMMANDS = ("claim", "reply", "close", "cases", "stats", "reload")

YES_WORDS = frozenset({"yes", "y", "oui", "si", "sí", "نعم", "ok", "d'accord", "vale"})
NO_WORDS = frozenset({"no", "n", "non", "لا"})
# Words that ask the bot itself while a volunteer holds the case, and end the case.
BOT_WORDS = {"en": "bot", "fr": "bot", "es": "bot", "ar": "بوت"}
END_WORDS = {"en": "end", "fr": "fin", "es": "terminar", "ar": "إنهاء"}


@dataclass
class Desk:
    store: Store
    keys: Keys
    catalogs: dict[str, Messages]
    room: int | None = None
    volunteer_ids: frozenset[int] = frozenset()
    reminder: timedelta = timedelta(minutes=15)
    hours: tuple[time, time] | None = None
    timezone: str = "America/Toronto"
    room_language: str = "en"
    template_sid: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(ZoneInfo("UTC")))
    reload_requested: bool = False

    @property
    def on(self) -> bool:
        return self.room is not None

    @property
    def _room(self) -> Messages:
        return self.catalogs[self.room_language]

    # -- the person's side -------------------------------------------------------------

    def ask_consent(self, m: Messages, pseudonym: str, question: str | None, channel: str) -> Outbound:
        """Keep the question (sealed) until the person says yes or no, and ask. With no
        question yet (the volunteer button), ask for it first."""
        now = self.clock()
        sealed = self.keys.seal(question.encode()) if question else None
        self.store.set_consent(pseudonym, sealed, now)
        if question is None:
            return info(
                m, m._("Write your question for the volunteer in one message. I will ask you before I share it.")
            )
        lines = [
            m._(
                "A volunteer can take this question. The volunteer will see your question, its language "
                "and a case number, nothing else: not your name, your number or your account. Volunteers "
                "are not lawyers unless they say so."
            ),
            m._(
                "Leave your name, your number and your file number out of your question: the volunteer "
                "sees it as you wrote it."
            ),
            _what_stays(m),
            self._wait_line(m),
            m._("Do you want me to share your question with a volunteer?"),
        ]
        if channel == WHATSAPP:
            lines.append(m._('Write "{yes}" or "{no}".').format(yes=_yes(m.language), no=_no(m.language)))
        buttons = ((Button(m._("Yes, share it"), "consent:yes"), Button(m._("No"), "consent:no")),)
        return info(m, "\n\n".join(lines), buttons)

    def pending_consent(self, pseudonym: str) -> tuple[str | None] | None:
        """(question,) when consent is awaited, (None,) when the question is awaited."""
        found = self.store.consent(pseudonym)
        if found is None:
            return None
        sealed, _ = found
        return (self.keys.unseal(sealed).decode() if sealed else None,)

    def decline(self, m: Messages, pseudonym: str) -> Outbound:
        self.store.clear_consent(pseudonym)
        return info(
            m, m._("Nothing was shared. You can keep asking me general questions, and ask for a volunteer at any time.")
        )

    def open_case(
        self, m: Messages, pseudonym: str, channel: str, address: str, question: str
    ) -> tuple[Outbound, list[Send]]:
        now = self.clock()
        self.store.clear_consent(pseudonym)
        case_id = self._new_id()
        case = Case(
            case_id,
            pseudonym,
            channel,
            m.language,
            self.keys.seal(address.encode()),
            "waiting",
            None,
            None,
            now,
            None,
            None,
            now,
            False,
            None,
            None,
        )
        self.store.new_case(case)
        self._keep(case_id, "user", question, now)
        r = self._room
        header = r._("New case #{case} · {language} · {channel}").format(
            case=case_id, language=LANGUAGE_NAMES[m.language], channel=_platform(channel)
        )
        post = Outbound(
            f"{header}\n\n{question}",
            self.room_language,
            ((Button(r._("Claim #{case}").format(case=case_id), f"claim:{case_id}"),),),
            case=case_id,
            root=True,
        )
        lines = [m._("Your question was shared with the volunteers as case #{case}.").format(case=case_id)]
        lines.append(self._wait_line(m))
        lines.append(self._while_open_line(m, channel))
        return info(m, "\n\n".join(lines)), [self._to_room(post, pseudonym)]

    def relay_from_person(self, case: Case, text: str) -> list[Send]:
        now = self.clock()
        self._keep(case.id, "user", text, now)
        self.store.update_case(case.id, last_user_at=now)
        sends = [
            self._to_room(
                Outbound(f"#{case.id} › {text}", self.room_language, case=case.id, reply_to=case.root_message_id),
                case.pseudonym,
            )
        ]
        # Replies held back outside WhatsApp's 24-hour window can leave now.
        held = self.store.held_messages(case.id)
        if held:
            self.store.release_held([i for i, _ in held])
            address = self._address(case)
            for _, sealed in held:
                sends.append(
                    Send(
                        case.channel,
                        address,
                        case.pseudonym,
                        self._volunteer_message(case, self.keys.unseal(sealed).decode()),
                    )
                )
        return sends

    def end_by_person(self, m: Messages, case: Case) -> tuple[Outbound, list[Send]]:
        self.store.close_case(case.id, self.clock())
        notice = self._room._("#{case} was ended by the person.").format(case=case.id)
        to_room = self._to_room(Outbound(notice, self.room_language, case=case.id), case.pseudonym)
        return self._closed_message(m, case), [to_room]

    def forget(self, pseudonym: str) -> list[Send]:
        """Before the person's rows are erased: delete the bot's own messages of their
        cases in the room (Telegram refuses it after 48 hours: those stay, as do the
        volunteers' own messages), and tell the room that an open case is gone. What
        is still queued about them is erased with their rows (`Store.forget`)."""
        sends = []
        sent = self.store.room_messages_of(pseudonym)
        if sent:
            sends.append(self.delete_from_room(sent))
        case = self.store.open_case_of(pseudonym)
        if case is not None:
            text = self._room._("#{case} was closed: the person erased their data.").format(case=case.id)
            sends.append(self._to_room(Outbound(text, self.room_language)))
        return sends

    def delete_from_room(self, message_ids: list[int]) -> Send:
        """A request to the channel to delete these of the bot's messages in the room."""
        return self._to_room(Outbound("", self.room_language, kind="delete", delete=tuple(message_ids)))

    def idle_closed(self, case_ids: tuple[str, ...], days: int) -> list[Send]:
        """What the room hears of open cases purged for inactivity: no content."""
        r = self._room
        sends = []
        for case_id in case_ids:
            text = r.ngettext(
                "#{case} closed: nobody wrote in it for {days} day. Its messages were erased.",
                "#{case} closed: nobody wrote in it for {days} days. Its messages were erased.",
                days,
            ).format(case=case_id, days=days)
            sends.append(self._to_room(Outbound(text, self.room_language)))
        return sends

    def rate(self, m: Messages, pseudonym: str, case_id: str, helpful: bool) -> Outbound | None:
        case = self.store.case(case_id) if case_id else self.store.last_closed_case_of(pseudonym)
        if case is None or case.pseudonym != pseudonym or case.state != "closed" or case.rating is not None:
            return None
        if case.closed_at is None or self.clock() - case.closed_at > RATING_WINDOW:
            return None
        self.store.update_case(case.id, rating=1 if helpful else -1)
        return info(m, m._("Thank you. This helps the volunteers improve the information."))

    def open_case_of(self, pseudonym: str) -> Case | None:
        return self.store.open_case_of(pseudonym) if self.on else None

    # -- the volunteers' side ----------------------------------------------------------

    def is_volunteer_command(self, text: str, action: str) -> bool:
        if action.startswith("claim:"):
            return True
        command = text.strip().split(" ", 1)[0]
        return command.startswith("/") and command[1:].split("@", 1)[0].lower() in VOLUNTEER_COMMANDS

    def authorised(self, inbound: Inbound) -> bool:
        """Members of the room (a message or a button press there), or listed ids."""
        if not self.on or inbound.channel != TELEGRAM:
            return False
        return inbound.room or _int(inbound.sender) in self.volunteer_ids

    def volunteer(self, inbound: Inbound) -> list[Send]:
        """A volunteer's command, button press or reply in the room. Answers go to the
        room (or to the volunteer's private chat for a command sent there)."""
        r = self._room
        here = self._room_address if inbound.room else inbound.sender
        volunteer_id = _int(inbound.sender)
        name = inbound.sender_name or r._("a volunteer")
        if inbound.action.startswith("claim:"):
            return self._claim(inbound.action[6:], volunteer_id, name, here)
        text = inbound.text.strip()
        if not text.startswith("/"):
            if inbound.reply_to is not None:
                case_id = self.store.case_of_room_message(inbound.reply_to)
                if case_id is not None:
                    return self._reply(case_id, text, volunteer_id, here)
            return []
        command, _, rest = text[1:].partition(" ")
        command = command.split("@", 1)[0].lower()
        case_id, _, body = rest.strip().partition(" ")
        case_id = case_id.lstrip("#").upper()
        if command == "cases":
            return [self._say(here, self._cases())]
        if command == "stats":
            return [self._say(here, self._stats())]
        if command == "reload":
            # The reload itself runs outside this transaction (it takes a second); its
            # result is posted to the room.
            self.reload_requested = True
            return [self._say(here, r._("Checking the knowledge base before reloading it…"))]
        if not case_id:
            usage = r._("Write the case number, for example: /{command} A7K2").format(command=command)
            return [self._say(here, usage)]
        if command == "claim":
            return self._claim(case_id, volunteer_id, name, here)
        if command == "reply":
            if not body.strip():
                return [self._say(here, r._("Write the reply after the case number: /reply A7K2 your text"))]
            return self._reply(case_id, body.strip(), volunteer_id, here)
        return self._close(case_id, volunteer_id, name, here)

    def not_authorised(self, m: Messages) -> Outbound:
        return info(m, m._("Not authorised."))

    def _claim(self, case_id: str, volunteer_id: int, name: str, here: str) -> list[Send]:
        r = self._room
        case = self.store.case(case_id)
        if case is None or not case.open:
            return [self._say(here, r._("There is no open case #{case}.").format(case=case_id))]
        now = self.clock()
        if not self.store.claim(case_id, volunteer_id, name, now):
            held_by = case.volunteer_name or r._("a volunteer")
            return [self._say(here, r._("#{case} is already claimed by {name}.").format(case=case_id, name=held_by))]
        self.store.audit(volunteer_id, "claim", case_id, now)
        m = self.catalogs[case.language]
        to_person = info(m, m._("A volunteer is now reading your question (case #{case}).").format(case=case_id))
        claimed = r._(
            "#{case} claimed by {name}. Reply to the messages of this case, or write /reply {case} your text."
        )
        return [
            self._to_room(
                Outbound(claimed.format(case=case_id, name=name), self.room_language, case=case_id), case.pseudonym
            ),
            Send(case.channel, self._address(case), case.pseudonym, to_person),
        ]

    def _reply(self, case_id: str, text: str, volunteer_id: int, here: str) -> list[Send]:
        r = self._room
        case = self.store.case(case_id)
        if case is None or not case.open:
            return [self._say(here, r._("There is no open case #{case}.").format(case=case_id))]
        if case.state != "claimed" or case.volunteer_id != volunteer_id:
            return [self._say(here, r._("Claim #{case} first: /claim {case}").format(case=case_id))]
        now = self.clock()
        self.store.audit(volunteer_id, "reply", case_id, now)
        if case.channel == WHATSAPP and now - case.last_user_at > WHATSAPP_WINDOW:
            return self._outside_window(case, text, here, now)
        self._keep(case_id, "volunteer", text, now)
        return [Send(case.channel, self._address(case), case.pseudonym, self._volunteer_message(case, text))]

    def _outside_window(self, case: Case, text: str, here: str, now: datetime) -> list[Send]:
        """WhatsApp delivers free text only within 24 hours of the person's last message."""
        r = self._room
        if not self.template_sid:
            return [
                self._say(
                    here,
                    r._(
                        "Not delivered: the person last wrote more than 24 hours ago, and WhatsApp allows a "
                        "free message only within 24 hours. No template is configured (TWILIO_TEMPLATE_SID), "
                        "so the person was not told."
                    ),
                )
            ]
        self._keep(case.id, "volunteer", text, now, held=True)
        template = Outbound("", case.language, template=True, case=case.id)
        return [
            Send(case.channel, self._address(case), case.pseudonym, template),
            self._say(
                here,
                r._(
                    "Not delivered yet: the person last wrote more than 24 hours ago. The approved template "
                    "was sent to tell them a reply is waiting; your reply leaves when they write back."
                ),
            ),
        ]

    def _close(self, case_id: str, volunteer_id: int, name: str, here: str) -> list[Send]:
        r = self._room
        case = self.store.case(case_id)
        if case is None or not case.open:
            return [self._say(here, r._("There is no open case #{case}.").format(case=case_id))]
        now = self.clock()
        self.store.close_case(case_id, now)
        self.store.audit(volunteer_id, "close", case_id, now)
        m = self.catalogs[case.language]
        return [
            self._to_room(
                Outbound(r._("#{case} closed by {name}.").format(case=case_id, name=name), self.room_language)
            ),
            Send(case.channel, self._address(case), case.pseudonym, self._closed_message(m, case)),
        ]

    def _cases(self) -> str:
        r = self._room
        cases = self.store.open_cases()
        if not cases:
            return r._("No open cases.")
        now = self.clock()
        lines = [r._("Open cases, oldest first:")]
        for case in cases:
            minutes = int((now - case.opened_at).total_seconds() // 60)
            state = (
                r._("waiting")
                if case.state == "waiting"
                else r._("claimed by {name}").format(name=case.volunteer_name or "?")
            )
            age = r.ngettext("{minutes} minute", "{minutes} minutes", minutes).format(minutes=minutes)
            lines.append(f"#{case.id} · {LANGUAGE_NAMES[case.language]} · {_platform(case.channel)} · {state} · {age}")
        return "\n".join(lines)

    def _stats(self) -> str:
        r = self._room
        cases = self.store.open_cases()
        waiting = sum(c.state == "waiting" for c in cases)
        delays = self.store.claim_delays(self.clock() - timedelta(days=WAIT_SAMPLE_DAYS))
        lines = [
            r._("Open: {open} (waiting: {waiting}, claimed: {claimed}).").format(
                open=len(cases), waiting=waiting, claimed=len(cases) - waiting
            )
        ]
        if delays:
            minutes = round(statistics.median(delays) / 60)
            lines.append(
                r.ngettext(
                    "Median time to claim over the last {days} days: {minutes} minute.",
                    "Median time to claim over the last {days} days: {minutes} minutes.",
                    minutes,
                ).format(days=WAIT_SAMPLE_DAYS, minutes=minutes)
            )
        return "\n".join(lines)

    # -- nobody left in silence --------------------------------------------------------

    def remind(self) -> list[Send]:
        """Cases waiting longer than the reminder time, once each: the room is reminded
        and the person told how long it may take."""
        now = self.clock()
        sends: list[Send] = []
        for case in self.store.open_cases():
            if case.state != "waiting" or case.reminded or now - case.opened_at < self.reminder:
                continue
            self.store.update_case(case.id, reminded=1)
            minutes = int((now - case.opened_at).total_seconds() // 60)
            r = self._room
            text = r.ngettext(
                "#{case} has been waiting for {minutes} minute. Who can take it? /claim {case}",
                "#{case} has been waiting for {minutes} minutes. Who can take it? /claim {case}",
                minutes,
            ).format(case=case.id, minutes=minutes)
            reminder = Outbound(text, self.room_language, case=case.id, reply_to=case.root_message_id)
            sends.append(self._to_room(reminder, case.pseudonym))
            m = self.catalogs[case.language]
            still = m._("No volunteer has taken your question yet (case #{case}). It is not forgotten.").format(
                case=case.id
            )
            sends.append(
                Send(case.channel, self._address(case), case.pseudonym, info(m, f"{still}\n\n{self._wait_line(m)}"))
            )
        return sends

    def _wait_line(self, m: Messages) -> str:
        opening = self._next_opening()
        if opening is not None:
            when = m.datetime(opening, self.timezone)
            return m._("Volunteers are not available now. Someone will read your question from {when}.").format(
                when=when
            )
        delays = self.store.claim_delays(self.clock() - timedelta(days=WAIT_SAMPLE_DAYS))
        if len(delays) >= WAIT_SAMPLE_MIN:
            minutes = max(1, round(statistics.median(delays) / 60))
            return m.ngettext(
                "A volunteer usually answers within about {minutes} minute.",
                "A volunteer usually answers within about {minutes} minutes.",
                minutes,
            ).format(minutes=minutes)
        return m._("A volunteer will answer as soon as one is free; it can take some time.")

    def _next_opening(self) -> datetime | None:
        """None when volunteers are available now (or always); else when they will be."""
        if self.hours is None:
            return None
        zone = ZoneInfo(self.timezone)
        local = self.clock().astimezone(zone)
        start, end = self.hours
        now = local.time()
        inside = start <= now < end if start < end else (now >= start or now < end)
        if inside:
            return None
        opening = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        if opening <= local:
            opening += timedelta(days=1)
        return opening

    def reloaded(self, version: str, passages: int, problems: list[str]) -> list[Send]:
        """What the room hears of a reload: the new version, or why the old one stays."""
        if not self.on:
            return []
        r = self._room
        if problems:
            head = r.ngettext(
                "Reload refused: kb check found {count} problem. The running knowledge base stays.",
                "Reload refused: kb check found {count} problems. The running knowledge base stays.",
                len(problems),
            ).format(count=len(problems))
            return [self._to_room(Outbound("\n".join([head, *problems[:20]]), self.room_language))]
        text = r._("Knowledge base reloaded: version {version}, {count} passages.").format(
            version=version, count=passages
        )
        return [self._to_room(Outbound(text, self.room_language))]

    # -- delivery results --------------------------------------------------------------

    def room_message_sent(self, message: Outbound, message_id: int) -> bool:
        """Link a message the room received to its case. False when the case was erased
        while the message was on its way: the message must be deleted."""
        if not message.case:
            return True
        if not self.store.case_exists(message.case):
            return False
        self.store.link_room_message(message_id, message.case)
        if message.root:
            self.store.update_case(message.case, root_message_id=message_id)
        return True

    def undeliverable(self, message: Outbound) -> list[Send]:
        """A message to a person in a case could not be delivered: the room must know."""
        if not self.on or not message.case:
            return []
        text = self._room._("A message of #{case} could not be delivered to the person.").format(case=message.case)
        return [self._to_room(Outbound(text, self.room_language))]

    # -- helpers of this module --------------------------------------------------------

    @property
    def _room_address(self) -> str:
        return str(self.room)

    def _to_room(self, message: Outbound, about: str = "") -> Send:
        """A message to the room; `about`: the pseudonym of the person whose case it
        shows, so that their erasure removes it while it is queued."""
        return Send(TELEGRAM, self._room_address, ROOM_THREAD, message, about)

    def _say(self, address: str, text: str) -> Send:
        thread = ROOM_THREAD if address == self._room_address else f"volunteer:{address}"
        return Send(TELEGRAM, address, thread, Outbound(text, self.room_language))

    def _address(self, case: Case) -> str:
        if case.sealed_address is None:  # pragma: no cover - callers act on open cases only
            raise ValueError("closed case has no address")
        return self.keys.unseal(case.sealed_address).decode()

    def _keep(self, case_id: str, author: str, text: str, at: datetime, held: bool = False) -> None:
        self.store.add_case_message(case_id, author, self.keys.seal(text.encode()), at, held)

    def _volunteer_message(self, case: Case, text: str) -> Outbound:
        m = self.catalogs[case.language]
        prefix = m._("Volunteer:")
        return Outbound(right_to_left(f"{prefix} {text}", m.language), m.language, case=case.id)

    def _closed_message(self, m: Messages, case: Case) -> Outbound:
        lines = [
            m._("The conversation with the volunteer is closed (case #{case}). I answer by myself again.").format(
                case=case.id
            ),
            m._("Was this helpful?"),
        ]
        buttons = ((Button("👍", f"rate:+:{case.id}"), Button("👎", f"rate:-:{case.id}")),)
        if case.channel == WHATSAPP:
            lines.append(m._('Write "👍" or "👎".'))
        return info(m, "\n\n".join(lines), buttons)

    def while_open(self, m: Messages, case: Case, channel: str) -> str:
        opened = m._("Your case #{case} is open.").format(case=case.id)
        return f"{opened} {self._while_open_line(m, channel)}"

    def _while_open_line(self, m: Messages, channel: str) -> str:
        if channel == WHATSAPP:
            return m._(
                'Until the case is closed, your messages go to the volunteer. Write "{bot}" followed by a '
                'question to ask me instead, or "{end}" to end the conversation.'
            ).format(bot=BOT_WORDS[m.language], end=END_WORDS[m.language])
        return m._(
            "Until the case is closed, your messages go to the volunteer. Write /bot followed by a question "
            "to ask me instead, or /end to end the conversation."
        )

    def _new_id(self) -> str:
        while True:
            case_id = "".join(secrets.choice(CASE_ALPHABET) for _ in range(CASE_LENGTH))
            if not self.store.case_exists(case_id):
                return case_id


def _what_stays(m: Messages) -> str:
    """Before consent: what an erasure could not remove from the volunteers' chat."""
    return m._(
        "If you erase your data later, I also delete my messages about your question in the "
        "volunteers' chat, where Telegram allows it (within 48 hours). The volunteers' own messages, "
        "and my messages older than 48 hours, can stay in their chat."
    )


def what_stayed(m: Messages) -> str:
    """After an erasure of someone who had a case: what may remain in the volunteers' chat."""
    return m._(
        "I also deleted my messages about your question in the volunteers' chat, where Telegram allows "
        "it (within 48 hours). The volunteers' own messages, and my messages older than 48 hours, can "
        "stay in their chat."
    )


def _platform(channel: str) -> str:
    return {TELEGRAM: "Telegram", WHATSAPP: "WhatsApp"}.get(channel, channel)


def _yes(lang: str) -> str:
    return {"en": "yes", "fr": "oui", "es": "sí", "ar": "نعم"}[lang]


def _no(lang: str) -> str:
    return {"en": "no", "fr": "non", "es": "no", "ar": "لا"}[lang]


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def consent_word(text: str) -> bool | None:
    """True for a yes, False for a no, in any of the four languages; None otherwise."""
    word = text.strip().strip(".!¡?¿؟").lower()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None
