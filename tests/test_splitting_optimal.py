"""Splitting costs people as few messages as the boundaries allow, each filled to its
limit (issue 18, item 2): checked against a dynamic-programming optimum over the same
cut points, for texts whose boundaries are all of one kind (a kind is preferred to a
finer one whenever one is in reach, so the optimum is taken over the kind in use)."""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.splitting import WHATSAPP_LIMIT, split, utf16_length

# Words with no space inside: Latin, accented, Arabic (with a harakah), an emoji with its
# skin tone (four UTF-16 units), digits; at most 18 units, so that a word always fits.
WORD = (
    st.lists(
        st.sampled_from(["a", "é", "Z", "ش", "كِ", "7", "👍🏽", "ñ", "ß", "q"]),
        min_size=1,
        max_size=9,
    )
    .map("".join)
    .filter(lambda word: utf16_length(word) <= 18)
)  # a word fits any piece here


def fewest_pieces(text: str, cuts: list[int], limit: int) -> int:
    """The fewest pieces of at most `limit` when a piece may end only at `cuts` (or the
    end of the text): a dynamic programme over the cut points."""
    ends = sorted({*cuts, len(text)})

    @cache
    def best(start: int) -> float:
        if start == len(text):
            return 0
        options = [best(end) for end in ends if end > start and utf16_length(text[start:end]) <= limit]
        return 1 + min(options, default=float("inf"))

    return int(best(0))


def ends_of(pattern: str, text: str) -> list[int]:
    return [m.end() for m in re.finditer(pattern, text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=120), st.integers(min_value=20, max_value=90))
def test_words_take_the_fewest_pieces_and_each_is_filled_to_its_limit(words: list[str], limit: int) -> None:
    text = " ".join(words)
    pieces = split(text, limit)
    assert "".join(pieces) == text
    assert len(pieces) == fewest_pieces(text, ends_of(r" ", text), limit)
    for piece, following in pairwise(pieces):
        # The next word (with its space) would not have fitted.
        next_word = following.split(" ", 1)[0] + (" " if " " in following else "")
        assert utf16_length(piece + next_word) > limit, (piece, next_word)


@settings(max_examples=300, deadline=None)
@given(
    # Each paragraph fits (at most 5 words of 18 UTF-16 units): only paragraphs are cut.
    st.lists(st.lists(WORD, min_size=1, max_size=5).map(" ".join), min_size=1, max_size=40),
    st.integers(min_value=100, max_value=200),
)
def test_paragraphs_take_the_fewest_pieces_and_each_is_filled_to_its_limit(paragraphs: list[str], limit: int) -> None:
    text = "\n\n".join(paragraphs)
    pieces = split(text, limit)
    assert "".join(pieces) == text
    assert len(pieces) == fewest_pieces(text, ends_of(r"\n\n", text), limit)
    for piece, following in pairwise(pieces):
        next_paragraph = following.split("\n\n", 1)[0] + ("\n\n" if "\n\n" in following else "")
        assert utf16_length(piece + next_paragraph) > limit


def test_a_long_whatsapp_reply_takes_three_messages_of_up_to_1600_characters() -> None:
    sentence = "Les personnes admissibles peuvent demander un permis de travail ouvert. "
    text = (sentence * 54).strip()  # 3,887 characters: three messages, not nine
    pieces = split(text, WHATSAPP_LIMIT)
    assert len(pieces) == 3
    assert [len(p) for p in pieces[:2]] == [len(sentence) * (WHATSAPP_LIMIT // len(sentence))] * 2
    assert all(WHATSAPP_LIMIT - len(p) < len(sentence) for p in pieces[:2])
