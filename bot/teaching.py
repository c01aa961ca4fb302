"""`kb teach`: a maintainer adds a question, as people ask it, to a passage's examples.

Owns editing `knowledge/asked_as.yaml` in place: the question is added under the
passage and its language (found by the language identifier unless given), as one line,
leaving every other line, comment and order as it was; a question already taught is not
added twice. Retrieval reads it at the next start or reload; `kb embed` stores its vector.

May import: the standard library, `bot.knowledge`, `bot.language`, `bot.normalize`.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.knowledge import ASKED_AS, KnowledgeBase
from bot.language import LanguageIdentifier
from bot.normalize import LANGUAGES


class TeachError(ValueError):
    """The question cannot be taught; the message says why."""


def teach(kb: KnowledgeBase, question: str, passage_id: str, language: str | None = None) -> str:
    """Add `question` to the examples of `passage_id`; returns the language it went under."""
    question = " ".join(question.split())
    if not question:
        raise TeachError("the question is empty")
    usable = {p.id for p in kb.usable_passages}
    if passage_id not in usable:
        raise TeachError(f"{passage_id}: no vetted passage has this id")
    lang = language or LanguageIdentifier(kb.stopwords).detect(question, None, None).language
    if lang not in LANGUAGES:
        raise TeachError(f"{lang}: not one of {', '.join(LANGUAGES)}")
    if question in kb.asked_as.get(passage_id, {}).get(lang, ()):
        return lang
    path = kb.root / ASKED_AS
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    item = f"    - {json.dumps(question, ensure_ascii=False)}"
    start = next((i for i, line in enumerate(lines) if line == f"{passage_id}:"), None)
    if start is None:
        lines += ["", f"{passage_id}:", f"  {lang}:", item]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
        at = next((i for i in range(start + 1, end) if lines[i] == f"  {lang}:"), None)
        if at is None:
            lines[end:end] = [f"  {lang}:", item]
        else:
            last = at
            while last + 1 < end and lines[last + 1].startswith("    - "):
                last += 1
            lines.insert(last + 1, item)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lang
