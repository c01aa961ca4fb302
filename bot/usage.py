"""Usage report (`python -m bot kb report`): how each passage serves, for maintainers.

Owns putting together, per passage, the times it was cited, thumbs up and down, its age
and the languages it has, from the knowledge base and the counts the database keeps
(no person, no channel, no text); and the answers per language and topic.

May import: the standard library and the bot's knowledge, normalize and storage modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.knowledge import KnowledgeBase
from bot.normalize import LANGUAGES
from bot.storage import Store


@dataclass(frozen=True)
class PassageUsage:
    passage_id: str
    cited: int
    helpful: int
    unhelpful: int
    age_days: int
    languages: tuple[str, ...]


def passage_usage(kb: KnowledgeBase, store: Store, today: date) -> list[PassageUsage]:
    """Every passage, most cited first."""
    cited = store.citations()
    feedback = store.passage_feedback()
    rows = [
        PassageUsage(
            p.id,
            cited.get(p.id, 0),
            *feedback.get(p.id, (0, 0)),
            (today - p.as_of.first_day).days,
            tuple(lang for lang in LANGUAGES if p.texts.get(lang, "").strip()),
        )
        for p in kb.passages
    ]
    return sorted(rows, key=lambda r: (-r.cited, r.passage_id))


def report(kb: KnowledgeBase, store: Store, today: date) -> list[str]:
    lines = [f"{'cited':>6} {'👍':>4} {'👎':>4} {'age (days)':>10}  {'languages':<11}  passage"]
    for r in passage_usage(kb, store, today):
        languages = ",".join(r.languages)
        lines.append(f"{r.cited:>6} {r.helpful:>4} {r.unhelpful:>4} {r.age_days:>10}  {languages:<11}  {r.passage_id}")
    lines.append("")
    lines.append("answers per language and topic:")
    for language, topic, count in store.answer_counts():
        lines.append(f"  {language}  {topic or '-':<24} {count:>6}")
    return lines
