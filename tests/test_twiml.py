"""The WhatsApp reply's TwiML is written directly, and must be exactly what twilio's
`MessagingResponse` writes for the same messages, on any text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from bot.whatsapp import twiml_document

# Text as a reply can hold it: anything but lone surrogates (which no UTF-8 body carries).
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1).filter(lambda t: t.strip() != "")


def _twilio(pieces: list[str]) -> str:
    response = MessagingResponse()
    for piece in pieces:
        response.message(piece)
    return str(response)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, max_size=4))
def test_the_twiml_is_character_for_character_twilios(pieces: list[str]) -> None:
    assert twiml_document(pieces) == _twilio(pieces)


def test_markup_in_a_reply_is_escaped_and_read_back_as_written() -> None:
    pieces = ["<b>1 & 2</b> > 0", "نعم <script>"]
    root = ET.fromstring(twiml_document(pieces).encode())
    assert [m.text for m in root.iter("Message")] == pieces


def test_no_message_is_an_empty_response() -> None:
    assert twiml_document([]) == _twilio([]) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
