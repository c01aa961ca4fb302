"""The WhatsApp channel, through Twilio: the signed webhook and TwiML replies.

Owns letting in only what `bot.signatures` finds signed by Twilio (checked against the
public URL Twilio calls, over all posted fields); turning the form into an `Inbound`
event (only the sender, the MessageSid, the text and whether something that is not text
was sent: `ProfileName`, locations and media URLs are read nowhere); and answering in
TwiML, split under 1600 characters per message.
WhatsApp has no buttons in this mode: the conversation offers keywords instead.
Messages the bot starts itself (a volunteer's reply, a reminder) leave from the outbox
through Twilio's REST API, with the approved template outside the 24-hour window.

May import: the standard library, twilio, Starlette, and the bot's conversation,
signatures and splitting modules. Never storage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from starlette.background import BackgroundTask
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.conversation import WHATSAPP, Conversations, Delivery, Inbound, Outcome, Unavailable
from bot.signatures import TWILIO_SIGNATURE_HEADER, twilio_form, twilio_signed, twilio_well_formed
from bot.splitting import WHATSAPP_LIMIT, split

log = logging.getLogger(__name__)

TWIML = "application/xml"
# A call to Twilio's REST API that takes longer than this fails (and is retried): it
# runs in a worker thread, which nothing else can stop.
TWILIO_TIMEOUT = 15.0
# A message that failed this many times for a passing reason (429, 5xx, the network) is
# given up, and the volunteers' room told; the waits between tries double from 1 s to
# 5 min (bot.conversation), about a quarter of an hour in all.
MAX_ATTEMPTS = 10
_TWIML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@dataclass
class WhatsAppChannel:
    conversations: Conversations
    validator: RequestValidator
    url: str  # the public address of this endpoint, exactly as configured in Twilio
    account_sid: str = ""  # TWILIO_ACCOUNT_SID: when set, forms from another account are refused
    # Called after a message is accepted, to deliver what it queued for others.
    kick: Callable[[], Awaitable[None]] | None = None

    async def webhook(self, request: Request) -> Response:
        signature = request.headers.get(TWILIO_SIGNATURE_HEADER, "")
        if not signature:
            return Response(status_code=403)
        form = twilio_form(await request.body())
        if form is None or not twilio_signed(self.validator, self.url, request.url.query, form, signature):
            return Response(status_code=403)
        if not twilio_well_formed(form, self.account_sid):
            return Response(status_code=400)
        event = _inbound(form)
        if event is None:
            return twiml(Outcome("ignored"))
        try:
            # The reply is kept until this response has left: Twilio's retry after a
            # crash in between gets it again.
            outcome = self.conversations.receive(event, until_sent=True)
        except Unavailable:
            return Response(status_code=503)
        log.info("whatsapp message: %s", outcome.status)
        response = twiml(outcome)
        if outcome.messages or outcome.queued:
            response.background = BackgroundTask(self._after, event, outcome)
        return response

    async def _after(self, event: Inbound, outcome: Outcome) -> None:
        """Once the response has left: its reply is no longer kept; and the worker is woken
        when the message queued something for others (the volunteers' room, a person a
        volunteer answers)."""
        if outcome.messages:
            try:
                self.conversations.replied(event)
            except Unavailable:
                log.warning("a sent reply stays kept until the purge: database busy")
        if self.kick is not None and outcome.queued:
            await self.kick()


def _inbound(form: ImmutableMultiDict[str, str]) -> Inbound | None:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    sender = form.get("From") or ""
    if not sid or not sender:
        return None
    text = form.get("Body") or ""
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        media = 0
    # A photo, voice note, location or contact: only that it was not text counts.
    non_text = not text.strip() and (media > 0 or "Latitude" in form or "Address" in form)
    return Inbound(WHATSAPP, sender, sid, text, non_text=non_text)


def twiml(outcome: Outcome) -> Response:
    pieces = [p for message in outcome.messages for p in split(message.text, WHATSAPP_LIMIT) if p.strip()]
    return Response(twiml_document(pieces), media_type=TWIML)


def twiml_document(pieces: list[str]) -> str:
    """The TwiML of one `<Message>` per piece, character for character what twilio's
    `MessagingResponse` writes (a test holds the two equal on any text); written directly
    because its ElementTree round trip cost more than the rest of the channel's work."""
    if not pieces:
        return _TWIML_DECLARATION + "<Response />"
    messages = "".join(f"<Message>{escape(piece)}</Message>" for piece in pieces)
    return f"{_TWIML_DECLARATION}<Response>{messages}</Response>"


class RedirectedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio.http is untyped
    """twilio's own HTTP client, sending every request to `base_url` (TWILIO_API_BASE_URL:
    a local test double, or a proxy) with the path and query twilio gives it."""

    def __init__(self, base_url: str, timeout: float = TWILIO_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        parts = urlsplit(url)
        moved = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, moved, params, data, headers, auth, timeout, allow_redirects)


def twilio_client(account_sid: str, auth_token: str, base_url: str = "") -> Client:
    """The REST client for messages the bot starts itself, with a timeout, at Twilio or
    at `base_url`."""
    http = RedirectedHttpClient(base_url) if base_url else TwilioHttpClient(timeout=TWILIO_TIMEOUT)
    return Client(account_sid, auth_token, http_client=http)


@dataclass
class WhatsAppSender:
    """Delivers the WhatsApp outbox through Twilio's REST API (the client is
    synchronous: each call runs in a worker thread)."""

    conversations: Conversations
    client: Client
    sender: str  # TWILIO_WHATSAPP_FROM
    template_sid: str = ""
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    async def deliver(self) -> None:
        if self._lock.locked():
            return
        async with self._lock:
            await self._deliver_pending()

    async def _deliver_pending(self) -> None:
        # A person whose message must wait keeps their order: their later messages wait too.
        waiting: set[str] = set()
        for delivery in self.conversations.pending(WHATSAPP):
            if delivery.address in waiting:
                continue
            sent = await self._send(delivery)
            if not sent:
                waiting.add(delivery.address)

    async def _send(self, delivery: Delivery) -> bool:
        message = delivery.message
        try:
            if message.template:
                await asyncio.to_thread(
                    self.client.messages.create, from_=self.sender, to=delivery.address, content_sid=self.template_sid
                )
            else:
                pieces = [p for p in split(message.text, WHATSAPP_LIMIT) if p.strip()]
                for n in range(delivery.pieces_sent, len(pieces)):
                    await asyncio.to_thread(
                        self.client.messages.create, from_=self.sender, to=delivery.address, body=pieces[n]
                    )
                    if n + 1 < len(pieces):
                        self.conversations.progress(delivery, n + 1)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                return self._failed(delivery, f"twilio unavailable ({exc.status})")
            log.warning("twilio refused a message (%s, code %s); dropped", exc.status, exc.code)
            self.conversations.undeliverable(delivery, WHATSAPP)
            return True
        except Exception as exc:  # the network, as the twilio client raises it
            return self._failed(delivery, f"twilio unreachable ({type(exc).__name__})")
        self.conversations.delivered(delivery)
        return True

    def _failed(self, delivery: Delivery, why: str) -> bool:
        """A passing failure: tried again later, or, after MAX_ATTEMPTS, given up (the
        room is told when it was a volunteer's message). True when the message is done."""
        if delivery.attempts + 1 >= MAX_ATTEMPTS:
            log.warning("%s; a message given up after %d tries", why, MAX_ATTEMPTS)
            self.conversations.undeliverable(delivery, WHATSAPP)
            return True
        log.warning("%s; will retry", why)
        self.conversations.attempted(delivery)
        return False
