"""The WhatsApp channel, through Twilio: the signed webhook and TwiML replies.

Owns checking every request with twilio's `RequestValidator` against the public URL
Twilio calls (not the URL this process sees behind a proxy), over all posted fields;
turning the form into an `Inbound` event (only the sender, the MessageSid, the text and
whether something that is not text was sent: `ProfileName`, locations and media URLs
are read nowhere); and answering in TwiML, split under 1600 characters per message.
WhatsApp has no buttons in this mode: the conversation offers keywords instead.

May import: the standard library, twilio, Starlette, and the bot's conversation and
splitting modules. Never storage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.conversation import WHATSAPP, Conversations, Inbound, Outcome, Unavailable
from bot.splitting import WHATSAPP_LIMIT, split

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-twilio-signature"
TWIML = "application/xml"
# Twilio posts a few dozen fields; a form with far more is not Twilio's.
MAX_FIELDS = 200


@dataclass
class WhatsAppChannel:
    conversations: Conversations
    validator: RequestValidator
    url: str  # the public address of this endpoint, exactly as configured in Twilio

    async def webhook(self, request: Request) -> Response:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return Response(status_code=403)
        try:
            pairs = parse_qsl(
                (await request.body()).decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=MAX_FIELDS,
            )
        except ValueError:  # not UTF-8, or too many fields
            return Response(status_code=403)
        form: ImmutableMultiDict[str, str] = ImmutableMultiDict(pairs)
        url = self.url + (f"?{request.url.query}" if request.url.query else "")
        if not self.validator.validate(url, form, signature):
            return Response(status_code=403)
        event = _inbound(form)
        if event is None:
            return twiml(Outcome("ignored"))
        try:
            outcome = self.conversations.receive(event)
        except Unavailable:
            return Response(status_code=503)
        log.info("whatsapp message: %s", outcome.status)
        return twiml(outcome)


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
    response = MessagingResponse()
    for message in outcome.messages:
        for piece in split(message.text, WHATSAPP_LIMIT):
            if piece.strip():
                response.message(piece)
    return Response(str(response), media_type=TWIML)
