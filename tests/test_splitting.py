"""Splitting replies for Telegram (4096) and WhatsApp (1600): properties that hold for
any text, and the boundaries people expect."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.splitting import split, utf16_length

texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),
    max_size=400,
) | st.lists(
    st.sampled_from(["word ", "mot. ", "كلمة ", "👍🏽 ", "é", "\n", "\n\n", "؟ ", "a\u0301", "🇨🇦", "\u200f"]),
    max_size=300,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(min_value=2, max_value=120))
def test_pieces_fit_and_join_back_to_the_text(text: str, limit: int) -> None:
    pieces = split(text, limit)
    assert "".join(pieces) == text
    assert all(utf16_length(p) <= limit for p in pieces)
    assert all(pieces) or pieces == [""]


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(min_value=8, max_value=120))
def test_no_grapheme_is_cut_when_every_grapheme_fits(text: str, limit: int) -> None:
    graphemes = regex.findall(r"\X", text)
    if any(utf16_length(g) > limit for g in graphemes):
        return
    boundaries = {0}
    position = 0
    for g in graphemes:
        position += len(g)
        boundaries.add(position)
    position = 0
    for piece in split(text, limit):
        position += len(piece)
        assert position in boundaries


def test_a_short_text_is_one_piece() -> None:
    assert split("Hello", 4096) == ["Hello"]


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    first, second = "A" * 50 + ".", "B" * 50 + "."
    assert split(f"{first}\n\n{second}", 60) == [f"{first}\n\n", second]


def test_a_long_paragraph_is_cut_after_a_sentence() -> None:
    text = "One sentence here. Another one follows it. " * 3
    pieces = split(text, 50)
    assert all(p.rstrip().endswith(".") for p in pieces)


def test_an_arabic_question_mark_ends_a_sentence() -> None:
    pieces = split("هل يمكنني العمل؟ نعم، بتصريح عمل مفتوح.", 20)
    assert pieces[0].endswith("؟ ")


def test_an_emoji_with_its_skin_tone_is_never_cut() -> None:
    text = "👍🏽" * 10
    assert all(p == "👍🏽" * (len(p) // 2) for p in split(text, 9))  # 2 code points, 4 UTF-16 units


long_texts = st.lists(
    st.sampled_from(["word ", "mot. ", "كلمة ", "👍🏽 ", " \u0301", "\n", "\n\n", "؟ ", "a\u0301", "🇨🇦", "\r\n"]),
    min_size=200,
    max_size=1500,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(long_texts, st.integers(min_value=300, max_value=900))
def test_long_texts_split_losslessly_between_graphemes(text: str, limit: int) -> None:
    boundaries = {0}
    position = 0
    for g in regex.findall(r"\X", text):
        position += len(g)
        boundaries.add(position)
    pieces = split(text, limit)
    assert "".join(pieces) == text and all(utf16_length(p) <= limit for p in pieces)
    position = 0
    for piece in pieces:
        position += len(piece)
        assert position in boundaries


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]))
    | st.sampled_from(["<b>x</b>", "&amp;", "a<b", "&#60;"])
)
def test_telegram_html_reads_back_as_the_text_and_opens_no_tag(text: str) -> None:
    import html
    import re

    from bot.telegram_channel import telegram_html

    sent = telegram_html(text)
    assert html.unescape(sent) == text
    assert "<" not in sent and ">" not in sent
    # Every & starts one of the three entities the escaping writes.
    assert all(m.group(0) in ("&amp;", "&lt;", "&gt;") for m in re.finditer(r"&[^;]*;?", sent))
