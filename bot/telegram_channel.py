"""The Telegram channel (python-telegram-bot): webhook, long polling and delivery.

Owns translating Telegram updates into `Inbound` events and `Outbound` messages into
Bot API calls: only updates that pass `bot.signatures`' secret-token check (before the
body is parsed) are read; HTML escaping of every text, splitting under 4096 characters, inline buttons,
delivery from the outbox with Telegram's retry rules (at least once: one piece at a time
is sent without its arrival recorded, so a crash doubles at most that piece), and `getUpdates` polling for
organisations without a public address. Which updates are new, what to answer and what
to remember is `bot.conversation`'s business.

May import: the standard library, python-telegram-bot, Starlette, and the bot's
conversation, signatures, splitting and i18n modules. Never storage.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Bot as TelegramBot
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.conversation import TELEGRAM, Conversations, Delivery, Inbound, Outbound, Unavailable
from bot.i18n import right_to_left
from bot.signatures import TELEGRAM_SECRET_HEADER, telegram_secret_ok
from bot.splitting import TELEGRAM_LIMIT, split

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
POLL_TIMEOUT = 30  # seconds Telegram holds a getUpdates call open
# Replies to different people are prepared side by side, each person's in order; their
# Bot API calls go one at a time (see `_send`).
PARALLEL_PEOPLE = 8
MAX_BACKOFF = 60.0
# Written in any group the bot is in, this gets the group's id (for VOLUNTEER_CHAT_ID).
GROUP_ID_COMMAND = "/groupid"
# A refused or failed setWebhook is tried again after this long, then twice as long each time.
WEBHOOK_RETRY_FIRST = 1.0


@dataclass
class TelegramChannel:
    conversations: Conversations
    bot: TelegramBot
    secret: str = field(default="", repr=False)
    # The volunteers' room (a group chat id); None: the desk is off.
    room: int | None = None
    # Called after an update is accepted, to deliver what it queued on every channel.
    kick: Callable[[], Awaitable[None]] | None = None
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _again: bool = field(init=False, default=False)
    # Held from a sendMessage call until its result is recorded in the outbox.
    _unrecorded: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    # What /healthz reports: Telegram accepted the webhook; the polling loop is running.
    webhook_set: bool = field(init=False, default=False)
    polling: bool = field(init=False, default=False)

    # -- receiving ---------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        if not telegram_secret_ok(request.headers.get(TELEGRAM_SECRET_HEADER, ""), self.secret):
            return Response(status_code=403)
        body = await request.body()
        try:
            update = Update.de_json(json.loads(body), self.bot)
        except Exception:  # any malformed body; its content is not logged
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        asked = self.group_id_asked(update)
        if asked is not None:
            return Response(status_code=200, background=BackgroundTask(self.tell_group_id, *asked))
        try:
            callback = self.accept(update)
        except Unavailable:
            # Not acknowledged: Telegram delivers the update again later.
            return Response(status_code=503)
        return Response(status_code=200, background=BackgroundTask(self.after, callback))

    def group_id_asked(self, update: Update) -> tuple[int, str] | None:
        """(group id, language) when someone writes GROUP_ID_COMMAND in a group: so that a
        coordinator learns the id VOLUNTEER_CHAT_ID needs, in webhook mode too (getUpdates
        does not work while a webhook is set). Nothing in private chats."""
        message = update.message
        if message is None or message.chat is None or message.chat.type not in ("group", "supergroup"):
            return None
        text = _text_or_none(message.text)
        if not text or not _is_id(message.chat.id):
            return None
        command = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text.strip() else ""
        if command != GROUP_ID_COMMAND:
            return None
        code = _text_or_none(message.from_user.language_code) if message.from_user else None
        return message.chat.id, (code or "en")[:2].lower()

    async def tell_group_id(self, chat_id: int, language: str) -> None:
        """Only the group's id, in the language of whoever asked (English otherwise)."""
        catalogs = self.conversations.bot.catalogs
        m = catalogs.get(language) or catalogs["en"]
        text = right_to_left(m._("This group's id: {chat_id}").format(chat_id=chat_id), m.language)
        try:
            await self.bot.send_message(chat_id=chat_id, text=telegram_html(text), parse_mode="HTML")
        except TelegramError as exc:
            log.warning("group id not sent (%s)", type(exc).__name__)

    def accept(self, update: Update) -> str | None:
        """Record the update and queue its replies; returns the id of a button press to
        acknowledge, if any. Raises `Unavailable` when it cannot be recorded."""
        event = _inbound(update, self.room)
        if event is None:
            return None
        inbound, address = event
        outcome = self.conversations.receive(inbound, address)
        log.info("telegram update: %s", outcome.status)
        query = update.callback_query
        return query.id if query is not None and outcome.status != "duplicate" else None

    async def after(self, callback: str | None = None) -> None:
        if callback is not None:
            try:
                await self.bot.answer_callback_query(callback)
            except TelegramError as exc:
                log.info("button press not acknowledged: %s", type(exc).__name__)
        await (self.kick or self.deliver)()

    # -- delivering --------------------------------------------------------------------

    async def deliver(self) -> None:
        """Send what the outbox holds. One delivery pass at a time; a call that arrives
        during a pass makes that pass look again before it ends."""
        if self._lock.locked():
            self._again = True
            return
        async with self._lock:
            while True:
                self._again = False
                pending = self.conversations.pending(TELEGRAM)
                by_address: dict[str, list[Delivery]] = {}
                for delivery in pending:
                    by_address.setdefault(delivery.address, []).append(delivery)
                gate = asyncio.Semaphore(PARALLEL_PEOPLE)

                async def one_person(items: list[Delivery], gate: asyncio.Semaphore = gate) -> bool:
                    async with gate:
                        return await self._send_in_order(items)

                done = await asyncio.gather(*(one_person(items) for items in by_address.values()))
                if not self._again and (not pending or not all(done)):
                    return

    async def _send_in_order(self, items: Sequence[Delivery]) -> bool:
        for delivery in items:
            if not await self._send(delivery):
                return False
        return True

    async def _send(self, delivery: Delivery) -> bool:
        """True when the message left (or can never leave and was dropped); False to
        retry later."""
        message = delivery.message
        pieces = split(message.text, TELEGRAM_LIMIT)
        last = max((n for n, piece in enumerate(pieces) if piece.strip()), default=-1)
        sent: list[int] = []
        reply = ReplyParameters(message.reply_to, allow_sending_without_reply=True) if message.reply_to else None
        if not delivery.address.lstrip("-").isdigit():
            self.conversations.undeliverable(delivery, TELEGRAM)  # not a chat id: can never leave
            return True
        if message.delete:
            return await self._delete(delivery)
        todo = [n for n in range(delivery.pieces_sent, last + 1) if pieces[n].strip()]
        k = 0
        while k < len(todo):
            n, wait = todo[k], 0.0
            # One piece at a time is on its way without its arrival recorded: a crash
            # (kill -9) can make at most that one piece leave twice after the restart.
            async with self._unrecorded:
                try:
                    result = await self.bot.send_message(
                        chat_id=int(delivery.address),
                        text=telegram_html(pieces[n]),
                        parse_mode="HTML",
                        reply_markup=keyboard(message) if n == last else None,
                        reply_parameters=reply if k == 0 else None,
                    )
                except RetryAfter as exc:
                    wait = _retry_after(exc)
                except (Forbidden, BadRequest) as exc:
                    # Blocked, left, or refused: this message can never arrive.
                    log.warning("telegram refused a message (%s); dropped", type(exc).__name__)
                    self.conversations.undeliverable(delivery, TELEGRAM)
                    return True
                except TelegramError as exc:
                    log.warning("telegram unreachable (%s); will retry", type(exc).__name__)
                    self.conversations.attempted(delivery)
                    return False
                else:
                    sent.append(result.message_id)
                    k += 1
                    if k == len(todo):
                        self.conversations.delivered(delivery, tuple(sent))
                        return True
                    self.conversations.progress(delivery, todo[k])
            if wait:
                await asyncio.sleep(wait)  # Telegram's 429: the others' pieces go meanwhile
        self.conversations.delivered(delivery, ())  # nothing to send
        return True

    async def _delete(self, delivery: Delivery) -> bool:
        """An erasure: delete the bot's own room messages of the person's cases, one by
        one. Telegram refuses messages older than 48 hours (and ones already gone): those
        are left, and the erasure goes on. False to retry the rest later."""
        ids = delivery.message.delete
        n = delivery.pieces_sent
        while n < len(ids):
            try:
                await self.bot.delete_message(chat_id=int(delivery.address), message_id=ids[n])
            except RetryAfter as exc:
                await asyncio.sleep(_retry_after(exc))
                continue
            except (Forbidden, BadRequest) as exc:
                log.info("telegram kept a room message (%s)", type(exc).__name__)
            except TelegramError as exc:
                log.warning("telegram unreachable (%s); will retry", type(exc).__name__)
                self.conversations.attempted(delivery)
                return False
            n += 1
            if n < len(ids):
                self.conversations.progress(delivery, n)
        self.conversations.delivered(delivery)
        return True

    # -- set-up ------------------------------------------------------------------------

    async def set_webhook(self, url: str) -> bool:
        try:
            await self.bot.set_webhook(url=url, secret_token=self.secret, allowed_updates=list(ALLOWED_UPDATES))
        except TelegramError as exc:
            log.error("telegram webhook not set (%s); check TELEGRAM_BOT_TOKEN and PUBLIC_BASE_URL", type(exc).__name__)
            return False
        log.info("telegram webhook set")
        self.webhook_set = True
        return True

    async def retry_webhook(self, url: str, first: float = WEBHOOK_RETRY_FIRST) -> None:
        """After a failed `setWebhook`: try again, waiting twice as long each time (up to
        MAX_BACKOFF), until Telegram accepts it."""
        delay = first
        while True:
            log.info("telegram webhook: trying again in %.0f s", delay)
            await asyncio.sleep(delay)
            if await self.set_webhook(url):
                return
            delay = min(delay * 2, MAX_BACKOFF)

    async def poll(self) -> None:
        """Long polling: for a bot with no public address (`serve --polling`)."""
        try:
            await self.bot.delete_webhook()
        except TelegramError as exc:
            log.warning("telegram webhook not removed (%s)", type(exc).__name__)
        self.polling = True
        try:
            await self._poll_loop()
        finally:
            self.polling = False

    async def _poll_loop(self) -> None:
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=list(ALLOWED_UPDATES)
                )
            except RetryAfter as exc:
                await asyncio.sleep(_retry_after(exc))
                continue
            except TelegramError as exc:
                log.warning("telegram polling failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            callbacks: list[str | None] = []
            for update in updates:
                asked = self.group_id_asked(update)
                if asked is not None:
                    await self.tell_group_id(*asked)
                    offset = update.update_id + 1
                    continue
                try:
                    callbacks.append(self.accept(update))
                except Unavailable:
                    break  # not confirmed: the next getUpdates returns it again
                offset = update.update_id + 1
            for callback in callbacks:
                if callback is not None:
                    await self.after(callback)
            await (self.kick or self.deliver)()


def _inbound(update: Update, room: int | None) -> tuple[Inbound, str] | None:
    """The event and the chat to answer, or None for what the bot does not answer
    (groups other than the volunteers' room, channels, edits, service messages) and for
    what is not shaped as Telegram sends it (python-telegram-bot does not check types)."""
    event_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        user = query.from_user
        if chat is None or user is None or not _is_id(chat.id) or not _is_id(user.id):
            return None
        if not isinstance(query.data, str) or not query.data:
            return None
        in_room = room is not None and chat.id == room
        if chat.type != "private" and not in_room:
            return None
        inbound = Inbound(
            TELEGRAM,
            str(user.id),
            event_id,
            "",
            _text_or_none(user.language_code),
            query.data,
            room=in_room,
            sender_name=_volunteer_name(user.first_name, user.username) if in_room else "",
        )
        return inbound, str(chat.id)
    message = update.message
    if message is None or message.from_user is None or message.chat is None:
        return None
    if not _is_id(message.chat.id) or not _is_id(message.from_user.id):
        return None
    text = _text_or_none(message.text)
    sender = str(message.from_user.id)
    if room is not None and message.chat.id == room:
        # A volunteer in the room: commands and replies to the bot's case messages.
        if not text:
            return None
        replied = message.reply_to_message.message_id if message.reply_to_message is not None else None
        name = _volunteer_name(message.from_user.first_name, message.from_user.username)
        inbound = Inbound(TELEGRAM, sender, event_id, text, room=True, reply_to=replied, sender_name=name)
        return inbound, str(message.chat.id)
    if message.chat.type != "private":
        return None
    hint = _text_or_none(message.from_user.language_code)
    if text:
        return Inbound(TELEGRAM, sender, event_id, text, hint), str(message.chat.id)
    # Voice, photo, sticker, location, document, contact...: only the fact that it was
    # not text is used; its content and metadata go nowhere.
    return Inbound(TELEGRAM, sender, event_id, "", hint, non_text=True), str(message.chat.id)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _volunteer_name(first_name: str, username: str | None) -> str:
    # Volunteers are seen by their room, by the name they chose there.
    return f"@{username}" if username else first_name


def telegram_html(text: str) -> str:
    """`text` for parse mode HTML: every character Telegram's parser reads as markup (<, >,
    &) escaped, so no content can open a tag or an entity. _ and * mean nothing in HTML."""
    return html.escape(text, quote=False)


def keyboard(message: Outbound) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in message.buttons]
    )


def _retry_after(exc: RetryAfter) -> float:
    # python-telegram-bot 22 warns that this becomes a timedelta; both are handled.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after: int | float | timedelta = exc.retry_after
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
