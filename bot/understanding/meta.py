"""Messages about the bot rather than questions: a greeting, asking what it can do, asking
for a person (`knowledge/meta.yaml`).

Owns recognising them: the message folded with its punctuation dropped is one of the
phrases, or it is short and very close in meaning to one (the encoder's vector), so that
"hiii", "hola buenas" or "ممكن احكي مع حدا" are met with the menu or the volunteer
offer, never with passages.

May import: the standard library, NumPy, `bot.normalize`, `bot.understanding.encoder`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.normalize import fold
from bot.understanding.encoder import QUESTION, Matrix, Vectors

INTENTS = ("greeting", "help", "volunteer")
# A message of more words is a question, whatever it resembles.
MAX_WORDS = 7
# How close in meaning a short message must be to a phrase (cosine of e5 vectors, where
# unrelated short texts already score about 0.8).
CLOSE = 0.93
_PUNCTUATION = re.compile(r"[^\w\s]+")


def _plain(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())


@dataclass(frozen=True)
class MetaIntents:
    phrases: dict[str, str]  # plain phrase -> intent
    vectors: Matrix
    owners: tuple[str, ...]
    # Words that ask what someone says or demands (`view` in meta.yaml).
    views: re.Pattern[str] | None = None

    @classmethod
    def build(cls, raw: dict[str, Any], vectors: Vectors) -> MetaIntents:
        phrases: dict[str, str] = {}
        for intent in INTENTS:
            for lang_phrases in (raw.get(intent) or {}).values():
                for phrase in lang_phrases or ():
                    phrases.setdefault(_plain(str(phrase)), intent)
        texts = sorted(phrases)
        words = sorted(
            {_plain(str(w)) for ws in (raw.get("view") or {}).values() for w in ws or ()}, key=len, reverse=True
        )
        views = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)") if words else None
        return cls(phrases, vectors.of(texts, QUESTION), tuple(phrases[t] for t in texts), views)

    def asks_view(self, text: str) -> bool:
        """Whether the question asks what someone says, wants or demands."""
        return self.views is not None and self.views.search(_plain(text)) is not None

    def intent(self, text: str, vector: npt.NDArray[np.float32]) -> str:
        """ "greeting", "help", "volunteer", or "" for a question."""
        plain = _plain(text)
        if plain in self.phrases:
            return self.phrases[plain]
        if not plain or len(plain.split()) > MAX_WORDS or not len(self.owners):
            return ""
        similarities = self.vectors @ vector
        best = int(np.argmax(similarities))
        return self.owners[best] if float(similarities[best]) >= CLOSE else ""
