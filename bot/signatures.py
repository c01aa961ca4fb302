"""Who may call the webhooks: Telegram's secret token and Twilio's request signature.

Owns the checks a request passes before anything in it is used: the
`X-Telegram-Bot-Api-Secret-Token` header compared in constant time with the configured
secret, before the body is parsed; a Twilio form parsed within limits and checked with
twilio's `RequestValidator` against the public URL Twilio calls (not the URL this
process sees behind a proxy), over every posted field; and the shape of the ids a
signed form carries.

May import: the standard library, twilio's request validator and Starlette's data
structures. Nothing of the bot.
"""

from __future__ import annotations

import functools
import hmac
import re
from urllib.parse import parse_qsl, urlparse

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator, remove_port

TELEGRAM_SECRET_HEADER = "x-telegram-bot-api-secret-token"
TWILIO_SIGNATURE_HEADER = "x-twilio-signature"
# Twilio posts a few dozen fields; a form with far more is not Twilio's.
MAX_FIELDS = 200
_MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")


def telegram_secret_ok(given: str, secret: str) -> bool:
    """The header carries the configured secret; no secret configured lets nobody in."""
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


def twilio_form(body: bytes) -> ImmutableMultiDict[str, str] | None:
    """The posted fields, or None for a body that is not a form Twilio would send."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # not UTF-8 (UnicodeDecodeError is a ValueError), or too many fields
        return None
    return ImmutableMultiDict(pairs)


def twilio_signed(
    validator: RequestValidator, public_url: str, query: str, form: ImmutableMultiDict[str, str], signature: str
) -> bool:
    """Twilio signed exactly this URL (the public one, with the query it called) and form."""
    if not signature:
        return False
    url = public_url + (f"?{query}" if query else "")
    # validate() computes two HMACs every time (the URL with and without its port); the
    # one without, when it matches, is one validate() accepts on (a form is never a raw
    # body), so it is tried first: half the work for every genuine request.
    without_port = validator.compute_signature(_without_port(url), form)
    if hmac.compare_digest(without_port.encode(), signature.encode()):
        return True
    return bool(validator.validate(url, form, signature))


@functools.lru_cache(maxsize=64)  # the public URL, and the few queries Twilio is set to call
def _without_port(url: str) -> str:
    return str(remove_port(urlparse(url)))


def twilio_well_formed(form: ImmutableMultiDict[str, str], account_sid: str) -> bool:
    """Twilio signs keys and values run together, without separators: a captured request
    with a field merged into the one before it ("MessageSid=SM…NumMedia0") keeps its
    signature. Ids shaped as Twilio makes them, and the configured account, shut that
    replay out."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    if sid is not None and not _MESSAGE_SID.fullmatch(sid):
        return False
    return not account_sid or form.get("AccountSid") == account_sid
