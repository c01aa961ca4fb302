"""Replies to the smallest messages, found while covering the command line: a greeting or a
thank-you written alone (in the terminal and the JSON lines interface nothing catches
them as keywords first; on Telegram and WhatsApp "hello" is a keyword, "thanks" is not)."""

from __future__ import annotations

from bot.core import Bot, Incoming


def test_hello_alone_is_answered_in_english(bot: Bot) -> None:
    assert bot.handle(Incoming("hello")).language == "en"


def test_thanks_alone_gets_no_cited_answer(bot: Bot) -> None:
    reply = bot.handle(Incoming("thanks"))
    assert reply.kind != "answer" and reply.citations == ()


def test_hello_with_the_channels_language_hint_is_answered_in_english(bot: Bot) -> None:
    assert bot.handle(Incoming("hello", language_hint="en")).language == "en"
