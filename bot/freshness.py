"""Freshness: the passages a maintainer must look at again (`python -m bot kb stale`).

Owns listing the passages past their `valid_until` (the measure ended) or past their
review-by date (`review_by`, by default one year after `as_of`), oldest first, with
their source and where they are written. Answers keep using them, with the ended-on or
"check that it is still current" line the core adds; this list is what to review.

May import: the standard library and `bot.knowledge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.knowledge import KnowledgeBase, Passage


@dataclass(frozen=True)
class Stale:
    passage: Passage
    reason: str  # "ended" (past valid_until) or "review" (past review-by)
    since: date


def stale(kb: KnowledgeBase, today: date) -> list[Stale]:
    """Stale passages, oldest first; an ended measure is listed as ended, not for review."""
    found = []
    for passage in kb.passages:
        if passage.valid_until is not None and passage.valid_until < today:
            found.append(Stale(passage, "ended", passage.valid_until))
        elif passage.review_date() < today:
            found.append(Stale(passage, "review", passage.review_date()))
    return sorted(found, key=lambda s: (s.since, s.passage.id))


def report(kb: KnowledgeBase, today: date) -> list[str]:
    lines = []
    for item in stale(kb, today):
        p = item.passage
        source = kb.sources[p.source]
        what = "ended on" if item.reason == "ended" else "review by"
        lines.append(f"{item.since.isoformat()}  {what:<9}  {p.id}  [{source.id}: {source.title}]  {p.file}:{p.line}")
    return lines
