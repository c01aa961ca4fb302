"""Conversations: what the bot remembers of a person, and what it says besides answers.

Owns everything between a channel and the core that needs memory: pseudonymising the
sender at once, processing each platform event once, the first-contact privacy notice,
commands and their keywords in four languages (/start, /help, /language, /privacy,
/forget, the volunteer request, feedback), the per-person rate limit, erasure on
request, retention, and the outbox of replies waiting to be delivered. Channels hand it
an `Inbound` and get `Outbound` messages back; they never touch storage.

May import: the standard library and the bot's core, i18n, keys, normalize and storage
modules. Never a channel library.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from bot.core import READ_LIMIT, Bot, Incoming, Reply
from bot.desk import BOT_WORDS, END_WORDS, ROOM_THREAD, Desk, consent_word, what_stayed
from bot.i18n import LANGUAGE_NAMES, Messages, right_to_left
from bot.keys import Keys, SealError
from bot.messages import TELEGRAM, WHATSAPP, Button, Inbound, Outbound, Send, info
from bot.normalize import LANGUAGES, fold, sanitize
from bot.storage import Purged, Store, Unavailable, User

log = logging.getLogger(__name__)

__all__ = [
    "TELEGRAM",
    "WHATSAPP",
    "Button",
    "Conversations",
    "Delivery",
    "Inbound",
    "Outbound",
    "Outcome",
    "Send",
    "Unavailable",
]

RATE_WINDOW = timedelta(minutes=1)
# Processed event keys are kept long enough to outlast any platform's redelivery, and a
# replay: a Twilio signature carries no time, so a captured signed request stays valid
# until the auth token changes. 400 days is longer than the yearly rotation of the
# Twilio auth token (and of TELEGRAM_WEBHOOK_SECRET) that the README asks for: a request
# captured before a rotation fails its signature, one captured after it meets its key.
# A key is 32 hex characters and a day, linked to no one: about 100 bytes a message.
EVENT_DAYS = 400
# A reply that could not be delivered in this long is dropped rather than kept.
OUTBOX_DAYS = 2
# Failed deliveries wait 1 s, 2 s, 4 s ... up to 5 minutes between attempts.
RETRY_BASE = timedelta(seconds=1)
RETRY_MAX = timedelta(minutes=5)
# Replies that are not answers, counted per language for maintainers (`kb report`).
COUNTED_KINDS = ("no_answer", "handoff", "emergency")
# Questions without an answer are counted this long, for maintainers (`kb gaps`).
GAP_DAYS = 30
# What could say who asked is masked before a question is counted: numbers of five
# digits or more (phone, file, client ids, possibly split by spaces or dashes) and
# e-mail addresses.
_NUMBER = re.compile(r"\d[\d\s().-]{3,}\d")
_EMAIL = re.compile(r"\S+@\S+")
_SPACE = re.compile(r"\s+")
# A question waiting for a yes or no to a volunteer is forgotten after this long.
CONSENT_TTL = timedelta(days=1)

# Words that work as commands when they are the whole message, in every language: the
# first of each list is the one the bot tells people to write. "help" is not one of
# them: "help" alone may be a person in danger, and goes to triage like any text.
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "help": {"en": ("menu",), "fr": ("menu",), "es": ("menú", "menu"), "ar": ("قائمة",)},
    "language": {"en": ("language",), "fr": ("langue",), "es": ("idioma",), "ar": ("لغة", "اللغة")},
    "volunteer": {"en": ("volunteer",), "fr": ("bénévole",), "es": ("voluntario",), "ar": ("متطوع",)},
    "forget": {"en": ("forget",), "fr": ("oublier",), "es": ("olvidar",), "ar": ("احذف",)},
    "privacy": {"en": ("privacy",), "fr": ("confidentialité",), "es": ("privacidad",), "ar": ("الخصوصية",)},
    "start": {"en": ("start", "hello", "hi"), "fr": ("bonjour", "salut"), "es": ("hola",), "ar": ("مرحبا",)},
}
COMMANDS = ("start", "help", "language", "privacy", "forget", "volunteer", "bot", "end")
# Writing a language's name alone chooses it.
LANGUAGE_WORDS = {
    "en": ("english", "anglais", "inglés"),
    "fr": ("français", "french", "francés"),
    "es": ("español", "spanish", "espagnol"),
    "ar": ("العربية", "عربي", "arabic", "arabe"),
}


@dataclass(frozen=True)
class _Turn:
    messages: tuple[Outbound, ...]
    user: User
    erased: bool = False
    sends: tuple[Send, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """`status`: "new" (answered), "duplicate" (already processed: say nothing again),
    "throttled" (over the rate limit: at most one notice), "resent" (already processed,
    but its reply never left: here it is again)."""

    status: str
    messages: tuple[Outbound, ...] = ()
    queued: bool = False  # something was put in the outbox: the delivery worker has work


@dataclass(frozen=True)
class Delivery:
    """A queued message, opened: where it goes, and how many of its pieces already left."""

    id: int
    address: str
    message: Outbound
    pieces_sent: int
    attempts: int
    thread: str = ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Conversations:
    bot: Bot
    store: Store
    keys: Keys
    retention_days: int = 30
    rate_limit: int = 20
    clock: Callable[[], datetime] = _utc_now
    desk: Desk | None = None
    record_gaps: bool = True
    # Recent message times per pseudonym, in memory only; and who was told to slow down.
    _recent: dict[str, deque[datetime]] = field(init=False, default_factory=dict)
    _warned: set[str] = field(init=False, default_factory=set)
    _feedback_keys: dict[str, str] = field(init=False, default_factory=dict)
    _keywords: dict[str, str] = field(init=False, default_factory=dict)
    _keyword_language: dict[str, str] = field(init=False, default_factory=dict)
    _bot_words: frozenset[str] = field(init=False, default=frozenset())
    _retry_at: dict[int, datetime] = field(init=False, default_factory=dict)
    _topic_of: dict[str, str] = field(init=False, default_factory=dict)
    # Events whose reply a response of this process is carrying now (see `receive`).
    _answering: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._index_bot()

    def _index_bot(self) -> None:
        """What is derived from the bot's knowledge base and words: rebuilt on a reload."""
        self._feedback_keys = {_short(p.id): p.id for p in self.bot.kb.passages}
        self._topic_of = {p.id: p.topics[0] for p in self.bot.kb.passages if p.topics}
        languages_of: dict[str, set[str]] = {}
        for action, by_language in KEYWORDS.items():
            for lang, words in by_language.items():
                for word in words:
                    self._keywords[_keyword_form(word)] = action
                    languages_of.setdefault(_keyword_form(word), set()).add(lang)
        for lang, words in LANGUAGE_WORDS.items():
            for word in words:
                self._keywords[_keyword_form(word)] = f"lang:{lang}"
        for lang, word in END_WORDS.items():
            self._keywords[_keyword_form(word)] = "end"
            languages_of.setdefault(_keyword_form(word), set()).add(lang)
        self._bot_words = frozenset(_keyword_form(w) for w in BOT_WORDS.values())
        # A keyword of one language only ("voluntario") also says which language to answer in.
        self._keyword_language = {k: next(iter(v)) for k, v in languages_of.items() if len(v) == 1}

    # -- receiving ---------------------------------------------------------------------

    def receive(self, inbound: Inbound, address: str | None = None, *, until_sent: bool = False) -> Outcome:
        """Process one event once. With an `address`, the replies are also queued for
        delivery in the same transaction that records the event, so an event that was
        acknowledged is never lost and never answered twice. Messages for others (the
        volunteers' room, a person a volunteer answers) are always queued.
        `until_sent` (replies that leave in the HTTP response): the replies are also kept,
        sealed, in that transaction until the channel calls `replied`; a redelivery of the
        event after a crash in between gets them ("resent"), not silence."""
        now = self.clock()
        today = now.date()
        pseudonym = self.keys.pseudonym(inbound.channel, inbound.sender)
        erased = False
        sends: tuple[Send, ...] = ()
        event_key = self.keys.event_key(inbound.channel, inbound.event_id)
        keeping = until_sent and address is None

        def kept(thread: str) -> tuple[str, str] | None:
            # The event and the thread its kept reply goes with: never the sender's number.
            return (event_key, thread) if keeping else None

        with self.store.transaction():
            if not self.store.first_time(event_key, today):
                return self._unsent(event_key if keeping else None)
            desk = self._desk
            if desk is not None and (inbound.room or desk.is_volunteer_command(inbound.text, inbound.action)):
                # A stranger's volunteer commands count against the rate limit like any
                # message: forty "/cases" get twenty replies and one notice, not forty.
                stranger = not inbound.room and not desk.authorised(inbound)
                if stranger and (limited := self._over_limit(pseudonym, now)) is not None:
                    if not limited:
                        return Outcome("throttled")
                    m = self._messages(self.store.user(pseudonym), inbound.language_hint)
                    outcome = Outcome("throttled", (info(m, self._throttled(m)),))
                    if self._queue(inbound.channel, address, pseudonym, outcome.messages, (), today, kept(pseudonym)):
                        outcome = replace(outcome, queued=True)
                    return outcome
                outcome, sends = self._volunteer_event(desk, inbound)
                own = kept(pseudonym)
                if self._queue(inbound.channel, address, inbound.sender, outcome.messages, sends, today, own):
                    outcome = replace(outcome, queued=True)
                return outcome
            user = stored = self.store.user(pseudonym)
            limited = self._over_limit(pseudonym, now)
            if limited is not None:
                if not limited:
                    return Outcome("throttled")
                m = self._messages(user, inbound.language_hint)
                outcome = Outcome("throttled", (info(m, self._throttled(m)),))
            else:
                user = user or User(pseudonym, today)
                turn = self._respond(inbound, user, address or inbound.sender)
                erased, sends = turn.erased, turn.sends
                if not erased:
                    seen = turn.user.seen(today)
                    if seen != stored:  # the same row again would only cost a write
                        self.store.save_user(seen)
                outcome = Outcome("new", turn.messages)
            # An erasure's confirmation is queued under a random thread, so that the
            # pseudonym leaves the database with everything else.
            thread = secrets.token_hex(16) if erased else pseudonym
            if self._queue(inbound.channel, address, thread, outcome.messages, sends, today, kept(thread)):
                outcome = replace(outcome, queued=True)
        if erased:
            self.store.checkpoint()
        return outcome

    def _queue(
        self,
        channel: str,
        address: str | None,
        thread: str,
        messages: tuple[Outbound, ...],
        sends: tuple[Send, ...],
        today: date,
        kept: tuple[str, str] | None = None,
    ) -> int:
        """Queues the messages for others (and, with an `address`, the sender's own);
        with `kept`, (event key, thread), the sender's own are kept until they have left
        in the response. The number queued."""
        if kept is not None and messages:
            payload = json.dumps([m.to_json() for m in messages], ensure_ascii=False)
            self.store.keep_reply(kept[0], kept[1], self.keys.seal(payload.encode()), today)
            self._answering.add(kept[0])
        own = tuple(Send(channel, address, thread, m) for m in messages) if address is not None else ()
        for send in (*own, *sends):
            payload = json.dumps({"address": send.address, "message": send.message.to_json()}, ensure_ascii=False)
            self.store.enqueue(send.channel, send.thread, self.keys.seal(payload.encode()), today, send.about)
        return len(own) + len(sends)

    def _unsent(self, kept: str | None) -> Outcome:
        """A redelivered event: its reply when it was recorded but never left (a crash
        came in between) and no response of this process is carrying it; else nothing."""
        if kept is None or kept in self._answering:
            return Outcome("duplicate")
        sealed = self.store.unsent_reply(kept)
        if sealed is None:
            return Outcome("duplicate")
        try:
            messages = tuple(Outbound.from_json(m) for m in json.loads(self.keys.unseal(sealed)))
        except (SealError, ValueError):
            return Outcome("duplicate")
        self._answering.add(kept)
        return Outcome("resent", messages)

    def replied(self, inbound: Inbound) -> None:
        """The response carrying the replies to `inbound` has left: they are not kept."""
        key = self.keys.event_key(inbound.channel, inbound.event_id)
        self.store.reply_sent(key)
        self._answering.discard(key)

    @property
    def _desk(self) -> Desk | None:
        return self.desk if self.desk is not None and self.desk.on else None

    def _volunteer_event(self, desk: Desk, inbound: Inbound) -> tuple[Outcome, tuple[Send, ...]]:
        if not desk.authorised(inbound):
            if inbound.room:
                return Outcome("ignored"), ()
            pseudonym = self.keys.pseudonym(inbound.channel, inbound.sender)
            m = self._messages(self.store.user(pseudonym), inbound.language_hint)
            return Outcome("new", (desk.not_authorised(m),)), ()
        return Outcome("new"), tuple(desk.volunteer(inbound))

    def _over_limit(self, pseudonym: str, now: datetime) -> bool | None:
        """None when within the limit; True the first time over it (one notice), then False."""
        recent = self._recent.setdefault(pseudonym, deque())
        while recent and now - recent[0] >= RATE_WINDOW:
            recent.popleft()
        if len(recent) < self.rate_limit:
            recent.append(now)
            self._warned.discard(pseudonym)
            return None
        if pseudonym in self._warned:
            return False
        self._warned.add(pseudonym)
        return True

    def _respond(self, inbound: Inbound, user: User, reply_address: str) -> _Turn:
        """The messages for this event, the person's new state, whether they were erased,
        and what goes to others."""
        action, argument = (inbound.action, "") if inbound.action else self._action(inbound.text)
        said_in = self._keyword_language.get(_keyword_form(sanitize(inbound.text))) if action else None
        if said_in is not None and user.language is None:
            user = _with(user, language=said_in)
        m = self._messages(user, inbound.language_hint)
        desk = self._desk
        if action == "forget":
            had_case = desk is not None and self.store.has_cases(user.pseudonym)
            sends = tuple(desk.forget(user.pseudonym)) if desk is not None else ()
            for queued in self.store.forget(user.pseudonym):
                # Their ids may be given again to new messages, which must not wait.
                self._retry_at.pop(queued, None)
            self._recent.pop(user.pseudonym, None)
            said = self._forgotten(m)
            if had_case:
                said = f"{said}\n\n{what_stayed(m)}"
            return _Turn((info(m, said),), user, True, sends)
        if desk is not None:
            turn = self._desk_turn(desk, inbound, user, m, action, argument, reply_address)
            if turn is not None:
                return turn
            if action == "bot":
                # "/bot question" while a volunteer holds the case: the bot answers itself.
                inbound = replace(inbound, text=argument, action="")
                action = ""
        if action.startswith("lang:") and action[5:] in LANGUAGES:
            lang = action[5:]
            user = _with(user, language=lang, language_chosen=True)
            m = self.bot.catalogs[lang]
            return self._turn(user, m, inbound.channel, info(m, self._language_set(m)))
        if action == "start":
            notice = self._notice(m, inbound.channel)
            return _Turn((info(m, notice),), _with(user, notice_shown=True))
        if action == "privacy":
            return _Turn((info(m, self._notice(m, inbound.channel)),), _with(user, notice_shown=True))
        if action == "help":
            return self._turn(user, m, inbound.channel, self._help(m, inbound.channel))
        if action == "language":
            return self._turn(user, m, inbound.channel, self._language_menu(m, inbound.channel))
        if action == "volunteer":
            if desk is not None:
                return self._turn(user, m, inbound.channel, desk.ask_consent(m, user.pseudonym, None, inbound.channel))
            return self._turn(user, m, inbound.channel, self._volunteer(m, inbound.channel))
        if action.startswith("feedback:"):
            messages, counted = self._feedback(m, user, action)
            return _Turn(messages, counted)
        if action.startswith(("consent:", "rate:")) or action in ("end", "bot"):
            # A button pressed twice, or a command with nothing to act on.
            return _Turn((), user)
        if inbound.non_text:
            return self._turn(user, m, inbound.channel, info(m, self._text_only(m)))
        reply = self._answer(inbound, user)
        if reply is None:
            return _Turn((info(m, self._failed(m)),), user)
        if not user.language_chosen:
            user = _with(user, language=reply.language)
        m = self.bot.catalogs[reply.language]
        if reply.kind in COUNTED_KINDS:
            self.store.count_reply(reply.language, reply.kind)  # for `kb report`: no person, no text
        if reply.kind == "handoff" and desk is not None:
            consent = desk.ask_consent(m, user.pseudonym, sanitize(inbound.text)[:READ_LIMIT], inbound.channel)
            # The core's reason ("this needs a person") and reminder stay; its promise of
            # how a handoff will work gives way to the real request for consent.
            kept = [*reply.sections[:-2], reply.sections[-1], consent.text]
            text = right_to_left("\n\n".join(s for s in kept if s), m.language)
            return self._turn(user, m, inbound.channel, replace(consent, text=text, kind="handoff"))
        if reply.kind == "answer" and reply.citations:
            topic = self._topic_of.get(reply.citations[0].passage_id, "")
            self.store.count_answer(reply.language, topic, [c.passage_id for c in reply.citations])
        if reply.kind == "no_answer" and self.record_gaps:
            gap = gap_form(inbound.text, self.bot.vocabulary)
            if gap:
                self.store.count_gap(reply.language, gap, self.clock().date())
        message = self._reply_message(reply, inbound.channel)
        # Danger first: in an emergency the notice comes after 911.
        return self._turn(user, m, inbound.channel, message, after=reply.kind == "emergency")

    def _desk_turn(
        self, desk: Desk, inbound: Inbound, user: User, m: Messages, action: str, argument: str, reply_address: str
    ) -> _Turn | None:
        """What the volunteer desk makes of this event: an open case, a consent awaited,
        a rating. None: answer as usual."""
        pseudonym = user.pseudonym
        case = desk.open_case_of(pseudonym)
        if case is not None:
            if action == "end":
                closed, to_room = desk.end_by_person(m, case)
                return _Turn((closed,), user, sends=tuple(to_room))
            if action in ("bot", "start", "help", "privacy", "language") or action.startswith("lang:"):
                return None
            if action == "volunteer":
                return _Turn((info(m, desk.while_open(m, case, inbound.channel)),), user)
            if inbound.non_text or not inbound.text.strip():
                return _Turn((info(m, self._text_only(m)),), user)
            text = sanitize(inbound.text)[:READ_LIMIT]
            sends = tuple(desk.relay_from_person(case, text))
            # Danger is answered at once, even while a volunteer holds the case.
            emergency = self._emergency(inbound, user)
            messages: tuple[Outbound, ...] = (emergency,) if emergency is not None else ()
            if case.state == "waiting" and emergency is None:
                messages = (info(m, m._("Added to your case #{case}.").format(case=case.id)),)
            return _Turn(messages, user, sends=sends)
        if action.startswith("rate:") or (not action and inbound.text.strip() in ("👍", "👎")):
            sign, _, case_id = action[5:].partition(":") if action else (inbound.text.strip(), "", "")
            rated = desk.rate(m, pseudonym, case_id, sign in ("+", "👍"))
            if rated is not None:
                return _Turn((rated,), user)
            return None if not action else _Turn((), user)
        pending = desk.pending_consent(pseudonym)
        if pending is None:
            return None
        (question,) = pending
        said = consent_word(inbound.text) if not inbound.action else None
        if action == "consent:yes" or said is True:
            if question is None:
                return self._turn(user, m, inbound.channel, desk.ask_consent(m, pseudonym, None, inbound.channel))
            opened, to_room = desk.open_case(m, pseudonym, inbound.channel, reply_address, question)
            return _Turn((opened,), user, sends=tuple(to_room))
        if action == "consent:no" or said is False:
            return _Turn((desk.decline(m, pseudonym),), user)
        if question is None and not action and not inbound.non_text and inbound.text.strip():
            emergency = self._emergency(inbound, user)
            if emergency is not None:
                return _Turn((emergency,), user)
            question = sanitize(inbound.text)[:READ_LIMIT]
            return self._turn(user, m, inbound.channel, desk.ask_consent(m, pseudonym, question, inbound.channel))
        # Something else: the question is not shared, and this message is answered.
        self.store.clear_consent(pseudonym)
        return None

    def _emergency(self, inbound: Inbound, user: User) -> Outbound | None:
        reply = self._answer(inbound, user)
        if reply is None or reply.kind != "emergency":
            return None
        return self._reply_message(reply, inbound.channel)

    def _turn(self, user: User, m: Messages, channel: str, message: Outbound, after: bool = False) -> _Turn:
        messages, user = self._with_notice(user, m, channel, message, after)
        return _Turn(messages, user)

    def _answer(self, inbound: Inbound, user: User) -> Reply | None:
        try:
            return self.bot.handle(Incoming(inbound.text, _hint(inbound.language_hint), user.language))
        except Exception as exc:  # a bug must cost one reply, not the conversation
            log.error("the core failed on a message: %s", type(exc).__name__)
            return None

    def _action(self, text: str) -> tuple[str, str]:
        """The command or keyword a message is, if any, and what follows it."""
        words = sanitize(text).strip()
        if words.startswith("/"):
            command, _, argument = words[1:].partition(" ")
            command = command.split("@", 1)[0].lower()
            argument = argument.strip()
            if command == "language" and argument.lower() in LANGUAGES:
                return f"lang:{argument.lower()}", ""
            # An unknown command gets the help, not an answer about "/whatever".
            return (command if command in COMMANDS else "help"), argument
        first, _, rest = words.partition(" ")
        if _keyword_form(first) in self._bot_words and rest.strip():
            return "bot", rest.strip()
        return self._keywords.get(_keyword_form(words), ""), ""

    # -- what the bot says -------------------------------------------------------------

    def _messages(self, user: User | None, hint: str | None) -> Messages:
        for lang in (user.language if user else None, _hint(hint)):
            if lang in self.bot.catalogs:
                return self.bot.catalogs[lang]
        return self.bot.catalogs["en"]

    def _with_notice(
        self, user: User, m: Messages, channel: str, message: Outbound, after: bool = False
    ) -> tuple[tuple[Outbound, ...], User]:
        """The message, with the privacy notice in it the first time: one event, one
        message, so that nothing arrives out of order."""
        if user.notice_shown:
            return (message,), user
        notice = right_to_left(self._notice(m, channel), m.language)
        text = f"{message.text}\n\n{notice}" if after else f"{notice}\n\n{message.text}"
        return (replace(message, text=text),), _with(user, notice_shown=True)

    def _notice(self, m: Messages, channel: str) -> str:
        days = self.retention_days
        lines = [
            m._("Hello! I answer questions about immigration to Canada from verified sources, in your language."),
            m._(
                "I am an automated bot run by volunteers, not a government service. You do not have to "
                "accept anything to get information."
            ),
            m.ngettext(
                "What I keep: your language, the day you last wrote, whether you saw this notice and how "
                "many answers you found helpful, under a code that does not reveal who you are. I do not "
                "keep your name, your number or your messages. I erase it all after {days} day without "
                "messages.",
                "What I keep: your language, the day you last wrote, whether you saw this notice and how "
                "many answers you found helpful, under a code that does not reveal who you are. I do not "
                "keep your name, your number or your messages. I erase it all after {days} days without "
                "messages.",
                days,
            ).format(days=days),
        ]
        if channel == WHATSAPP:
            lines.append(
                m._(
                    "WhatsApp and Twilio (the service that connects me to WhatsApp) also see our messages, "
                    "under their own rules."
                )
            )
            lines.append(
                m._('To erase everything I keep about you, write "{keyword}" at any time.').format(
                    keyword=_keyword("forget", m.language)
                )
            )
        else:
            lines.append(m._("Telegram also sees our messages, under its own rules."))
            lines.append(m._("To erase everything I keep about you, send /forget at any time."))
        if self.record_gaps:
            lines.append(
                m.ngettext(
                    "Questions I cannot answer are counted, without anything that says who asked, for "
                    "{days} day, so that volunteers know what to add.",
                    "Questions I cannot answer are counted, without anything that says who asked, for "
                    "{days} days, so that volunteers know what to add.",
                    GAP_DAYS,
                ).format(days=GAP_DAYS)
            )
        lines.append(m._("Ask your question in a few words."))
        return "\n\n".join(lines)

    def _help(self, m: Messages, channel: str) -> Outbound:
        intro = m._(
            "Ask me a question in a few words, in English, French, Spanish or Arabic. I answer from "
            "verified sources and cite them; I say so when I do not know."
        )
        if channel == WHATSAPP:
            return info(m, f"{intro}\n\n{self._keywords_line(m)}")
        commands = "\n".join(
            [
                "/language — " + m._("choose the language of my answers"),
                "/privacy — " + m._("what I keep about you, and for how long"),
                "/forget — " + m._("erase everything I keep about you"),
                "/help — " + m._("this message"),
            ]
        )
        return info(m, f"{intro}\n\n{commands}", ((Button(m._("Talk to a volunteer"), "volunteer"),),))

    def _keywords_line(self, m: Messages) -> str:
        return m._(
            'Words you can send: "{menu}" (help), "{language}" (change language), "{volunteer}" '
            '(talk to a volunteer), "{forget}" (erase your data).'
        ).format(**{action: _keyword(action, m.language) for action in ("menu", "language", "volunteer", "forget")})

    def _language_menu(self, m: Messages, channel: str) -> Outbound:
        if channel == WHATSAPP:
            names = ", ".join(LANGUAGE_NAMES.values())
            return info(m, m._("Write the name of your language: {names}.").format(names=names))
        buttons = (tuple(Button(name, f"lang:{code}") for code, name in LANGUAGE_NAMES.items()),)
        return info(m, m._("Choose the language of my answers:"), buttons)

    def _language_set(self, m: Messages) -> str:
        return m._("From now on I answer in {language}.").format(language=m.language_name)

    def _volunteer(self, m: Messages, channel: str) -> Outbound:
        text = "\n\n".join(
            [
                m._(
                    "A volunteer can take your question. Before anything is shared, I will tell you "
                    "what the volunteer sees (your question, its language and a case number, nothing "
                    "that identifies you) and ask for your consent. Volunteers are not lawyers unless "
                    "they say so. For a decision about your case, talk to an immigration lawyer."
                ),
                m._(
                    "Volunteers cannot be reached through this bot yet. Until they can, I share nothing, "
                    "and you can keep asking me general questions."
                ),
            ]
        )
        return info(m, text)

    def _feedback(self, m: Messages, user: User, action: str) -> tuple[tuple[Outbound, ...], User]:
        """One vote per person and answer: a button pressed again (either of the two)
        counts nothing and says nothing. Which answer they voted on is kept only as a
        keyed hash, for the retention period, and erased with them."""
        _, sign, keys = [*action.split(":", 2), "", ""][:3]
        passages = [self._feedback_keys[k] for k in keys.split(".") if k in self._feedback_keys]
        if sign not in ("+", "-") or not passages:
            return (), user
        answer = ".".join(sorted(set(passages)))
        if not self.store.first_vote(self.keys.vote_key(user.pseudonym, answer), user.pseudonym, self.clock().date()):
            return (), user
        helpful = sign == "+"
        self.store.count_feedback(passages, helpful)
        counted = _with(user, helpful=user.helpful + helpful, unhelpful=user.unhelpful + (not helpful))
        return (info(m, m._("Thank you. This helps the volunteers improve the information.")),), counted

    def _text_only(self, m: Messages) -> str:
        return m._(
            "I read text only. Please write your question in a few words, for example: "
            '"Who can apply for the Gaza special measures?"'
        )

    def _forgotten(self, m: Messages) -> str:
        return m._("Done: I have erased everything I kept about you. If you write again, I start from zero.")

    def _throttled(self, m: Messages) -> str:
        return m._("You are sending many messages at once. I will read your messages again in a minute.")

    def _failed(self, m: Messages) -> str:
        return m._("Sorry, something went wrong on my side. Please send your question again in a moment.")

    def _reply_message(self, reply: Reply, channel: str) -> Outbound:
        m = self.bot.catalogs[reply.language]
        text = reply.text
        buttons: tuple[tuple[Button, ...], ...] = ()
        volunteer = (Button(m._("Talk to a volunteer"), "volunteer"),)
        if channel == WHATSAPP:
            text = f"{text}\n\n{self._keywords_line(m)}"
        elif reply.kind == "answer":
            keys = ".".join(dict.fromkeys(_short(c.passage_id) for c in reply.citations))
            question = m._("Was this helpful?")
            text = f"{text}\n\n{question}"
            buttons = ((Button("👍", f"feedback:+:{keys}"), Button("👎", f"feedback:-:{keys}")), volunteer)
        else:
            buttons = (volunteer,)
        return Outbound(right_to_left(text, reply.language), reply.language, buttons, reply.kind)

    # -- delivery ----------------------------------------------------------------------

    def pending(self, channel: str, limit: int = 100) -> list[Delivery]:
        """Queued messages for a channel that are due, oldest first. One that cannot be
        opened (the pepper changed) is dropped: it could never be delivered."""
        out = []
        now = self.clock()
        waiting: set[str] = set()  # threads whose next message must wait: the rest waits too
        for queued in self.store.pending(channel, limit):
            if queued.thread in waiting or self._retry_at.get(queued.id, now) > now:
                waiting.add(queued.thread)
                continue
            try:
                payload = json.loads(self.keys.unseal(queued.sealed))
            except (SealError, ValueError):
                log.warning("dropped a queued message that cannot be opened")
                self.store.delivered(queued.id)
                continue
            message = Outbound.from_json(payload["message"])
            out.append(
                Delivery(
                    queued.id, str(payload["address"]), message, queued.pieces_sent, queued.attempts, queued.thread
                )
            )
        return out

    def progress(self, delivery: Delivery, pieces_sent: int) -> None:
        self.store.progress(delivery.id, pieces_sent)

    def attempted(self, delivery: Delivery) -> None:
        """A failed attempt: the next one waits longer each time (back-off, in memory:
        after a restart everything is tried at once)."""
        self.store.attempted(delivery.id)
        delay = min(RETRY_BASE * 2**delivery.attempts, RETRY_MAX)
        self._retry_at[delivery.id] = self.clock() + delay

    def delivered(self, delivery: Delivery, message_ids: tuple[int, ...] = ()) -> None:
        """Sent. In the volunteers' room, the sent messages' ids link replies to the case."""
        self._retry_at.pop(delivery.id, None)
        with self.store.transaction():
            if self.desk is not None and delivery.thread == ROOM_THREAD:
                # A case erased while its message was on the way: the message goes too.
                orphans = [i for i in message_ids if not self.desk.room_message_sent(delivery.message, i)]
                if orphans:
                    self._queue("", None, "", (), (self.desk.delete_from_room(orphans),), self.clock().date())
            self.store.delivered(delivery.id)

    def undeliverable(self, delivery: Delivery, channel: str) -> None:
        """Can never be sent (blocked, unknown number): dropped; the room hears of it
        when it was a volunteer's message in a case."""
        with self.store.transaction():
            self.store.delivered(delivery.id)
            if self.desk is not None and delivery.thread != ROOM_THREAD:
                sends = tuple(self.desk.undeliverable(delivery.message))
                self._queue(channel, None, "", (), sends, self.clock().date())

    @property
    def reload_requested(self) -> bool:
        return self.desk is not None and self.desk.reload_requested

    def replace_bot(self, bot: Bot | None, problems: list[str]) -> None:
        """After a reload: answer from `bot` from now on (None: keep the running one), and
        tell the volunteers' room."""
        if bot is not None:
            self.bot = bot
            self._index_bot()
        if self.desk is not None:
            self.desk.reload_requested = False
            kb = self.bot.kb
            with self.store.transaction():
                sends = tuple(self.desk.reloaded(kb.version, len(kb.usable_passages), problems))
                self._queue("", None, "", (), sends, self.clock().date())

    def remind(self) -> int:
        """Reminders for cases no one claimed in time; the number of messages queued."""
        if self._desk is None:
            return 0
        with self.store.transaction():
            sends = tuple(self._desk.remind())
            self._queue("", None, "", (), sends, self.clock().date())
        return len(sends)

    # -- upkeep ------------------------------------------------------------------------

    def purge(self) -> Purged:
        today = self.clock().date()
        now = self.clock()
        purged = self.store.purge(
            users_before=today - timedelta(days=self.retention_days),
            events_before=today - timedelta(days=EVENT_DAYS),
            outbox_before=today - timedelta(days=OUTBOX_DAYS),
            cases_before=now - timedelta(days=self.retention_days),
            consents_before=now - CONSENT_TTL,
            gaps_before=today - timedelta(days=GAP_DAYS),
            votes_before=today - timedelta(days=self.retention_days),
        )
        if purged.idle_cases and self._desk is not None:
            with self.store.transaction():
                sends = tuple(self._desk.idle_closed(purged.idle_cases, self.retention_days))
                self._queue("", None, "", (), sends, today)
        stale = [p for p, times in self._recent.items() if not times or self.clock() - times[-1] >= RATE_WINDOW]
        for pseudonym in stale:
            self._recent.pop(pseudonym, None)
            self._warned.discard(pseudonym)
        return purged

    def health(self) -> dict[str, object]:
        kb = self.bot.kb
        return {
            "knowledge_base": {"version": kb.version, "passages": len(kb.usable_passages)},
            "database": "ok" if self.store.healthy() else "error",
        }


def _with(user: User, **changes: object) -> User:
    return replace(user, **changes)  # type: ignore[arg-type]


def _short(passage_id: str) -> str:
    # Telegram allows 64 bytes of callback data: three 8-character keys fit, ids do not.
    return hashlib.sha256(passage_id.encode()).hexdigest()[:8]


def _hint(hint: str | None) -> str | None:
    """ "es-419" -> "es"; a language the bot does not speak -> None."""
    if not hint:
        return None
    code = hint.split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def _keyword_form(text: str) -> str:
    return fold(text).strip(" .!¡?¿؟،,;:'\"«»“”")


def _keyword(action: str, lang: str) -> str:
    return KEYWORDS["help" if action == "menu" else action][lang][0]


# A word of a question kept in the gaps is one the bot already knows; every other word
# (a name, a street, an identifier) is kept as this mark.
UNKNOWN_WORD = "…"
# A question with fewer known words than this tells maintainers nothing: not counted.
GAP_MIN_KNOWN = 2
_GAP_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_MASK = rf"(?:{re.escape(UNKNOWN_WORD)}|#)"
_MASK_RUN = re.compile(rf"{_MASK}(?:[\s,./:-]*{_MASK})+")


def gap_form(text: str, known: frozenset[str] | None = None) -> str:
    """A question as counted in the gaps: clean, lower case, one space, e-mail addresses,
    numbers in any grouping and (given the words the bot knows) every word it does not
    know masked, at most 200 characters. What is kept cannot say who asked: names,
    identifiers, dates, addresses and postal codes are words no passage, glossary entry or
    stop word holds, or have digits. Empty when too little is left to be worth counting."""
    text = _EMAIL.sub("@", sanitize(text))
    text = _NUMBER.sub("#", text)
    text = _SPACE.sub(" ", text).strip().casefold()
    if known is None:
        return text[:200]
    kept = 0

    def mask(word: re.Match[str]) -> str:
        nonlocal kept
        found = word.group()
        if any(ch.isdigit() for ch in found):
            return "#"
        if fold(found) not in known:
            return UNKNOWN_WORD
        kept += 1
        return found

    masked = _GAP_WORD.sub(mask, text)
    # Runs of masks are one: even how many unknown words there were could tell something.
    masked = _MASK_RUN.sub(UNKNOWN_WORD, masked)
    return masked[:200] if kept >= GAP_MIN_KNOWN else ""
