"""Splitting long replies into messages a platform accepts.

Owns one function, `split`: pieces no longer than a channel's limit, cut at the last
paragraph break that fits, else the last line break, else the last sentence end, else
the last space, else between grapheme clusters (so a letter and its accents, an emoji
and its modifiers, or an Arabic letter and its harakat stay together). Nothing is lost
or added: the pieces joined are the text. Lengths are counted in UTF-16 code units,
as Telegram counts them; that is never less than the code points Twilio counts.

May import: the standard library and regex (for grapheme clusters).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import regex

TELEGRAM_LIMIT = 4096
WHATSAPP_LIMIT = 1600

# Where a cut may fall, coarsest first: each pattern matches the text that ends a piece.
_BOUNDARIES = (
    re.compile(r"\n\s*\n\s*"),
    re.compile(r"\n\s*"),
    re.compile(r"(?<=[.!?؟。…])[\"'»”)\]]*\s+"),
    re.compile(r"\s+"),
)
_GRAPHEME = regex.compile(r"\X")
# How far before the cut grapheme clusters are looked for.
_GRAPHEME_SCAN = 256
_JOINS_PREVIOUS = regex.compile(
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=SpacingMark}\p{Grapheme_Cluster_Break=ZWJ}]"
)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int, length: Callable[[str], int] = utf16_length) -> list[str]:
    """`text` in pieces of at most `limit` (a grapheme longer than the limit alone is cut
    between code points: nothing else could fit)."""
    if limit < 2:
        raise ValueError("limit must leave room for any character (2 UTF-16 units)")
    pieces: list[str] = []
    rest = text
    while length(rest) > limit:
        cut = _cut(rest, limit, length)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _cut(text: str, limit: int, length: Callable[[str], int]) -> int:
    """The end of the longest first piece that fits, at the coarsest boundary possible,
    and never inside a grapheme cluster (a space can carry a combining mark)."""
    fits = _longest_prefix(text, limit, length)
    # Grapheme clusters are found from a point known to be a boundary: a space or line
    # break begins a cluster (a mark after it joins it; nothing before it does).
    start = max(
        text.rfind(" ", 0, max(0, fits - _GRAPHEME_SCAN)), text.rfind("\n", 0, max(0, fits - _GRAPHEME_SCAN)), 0
    )
    if start > 0 and text[start - 1] == "\r":
        start -= 1
    graphemes = set()
    for match in _GRAPHEME.finditer(text, start):
        end = match.end()
        if end > fits:
            break
        graphemes.add(end)
    window = text[:fits]

    def between_graphemes(p: int) -> bool:
        # Before the scanned stretch, a cut after whitespace splits a cluster only when a
        # mark follows (a space can carry one).
        return p in graphemes if p >= start else not _JOINS_PREVIOUS.match(text, p)

    for boundary in _BOUNDARIES:
        ends = [m.end() for m in boundary.finditer(window) if between_graphemes(m.end())]
        if ends:
            return ends[-1]
    return max(graphemes, default=fits)


def _longest_prefix(text: str, limit: int, length: Callable[[str], int]) -> int:
    """The largest n with length(text[:n]) <= limit (at least one code point)."""
    low, high = 1, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if length(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
