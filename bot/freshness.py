"""Freshness: the passages a maintainer must look at again (`python -m bot kb stale`).

Owns listing the passages past their `valid_until` (the measure ended) or past their
review-by date (`review_by`, by default one year after a maintainer last checked the
passage, `vetted_on`; one year after `as_of` only for a passage with no `vetted_on`).
The information's own date (`as_of`) is what readers are told is old, by the core;
this list is about when someone last looked. Oldest first, with
their source and where they are written; and the service-provider notes past their
own `review_by`. Answers keep using them, with the ended-on or "check that it is still
current" line the core adds; this list is what to review.

May import: the standard library and `bot.knowledge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.knowledge import KnowledgeBase, Passage, Source


@dataclass(frozen=True)
class Stale:
    passage: Passage
    reason: str  # "ended" (past valid_until) or "review" (past review-by)
    since: date


def review_by(passage: Passage) -> date:
    """When a maintainer must check the passage again: its `review_by`, or a year after it
    was last vetted (after `as_of` when it never was)."""
    if passage.review_by is not None or passage.vetted_on is None:
        return passage.review_date()
    d = passage.vetted_on
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def stale(kb: KnowledgeBase, today: date) -> list[Stale]:
    """Stale passages, oldest first; an ended measure is listed as ended, not for review."""
    found = []
    for passage in kb.passages:
        if passage.valid_until is not None and passage.valid_until < today:
            found.append(Stale(passage, "ended", passage.valid_until))
        elif review_by(passage) < today:
            found.append(Stale(passage, "review", review_by(passage)))
    return sorted(found, key=lambda s: (s.since, s.passage.id))


def stale_notes(kb: KnowledgeBase, today: date) -> list[tuple[date, Source]]:
    """Service-provider notes past their review-by date, oldest first: a service's hours
    and address change faster than any passage's wording."""
    notes = [(s.review_by, s) for s in kb.sources.values() if s.provider and s.review_by and s.review_by < today]
    return sorted(notes, key=lambda n: (n[0], n[1].id))


def report(kb: KnowledgeBase, today: date) -> list[str]:
    dated: list[tuple[date, str]] = []
    for item in stale(kb, today):
        p = item.passage
        source = kb.sources[p.source]
        what = "ended on" if item.reason == "ended" else "review by"
        line = f"{item.since.isoformat()}  {what:<9}  {p.id}  [{source.id}: {source.title}]  {p.file}:{p.line}"
        dated.append((item.since, line))
    for since, note in stale_notes(kb, today):
        dated.append((since, f"{since.isoformat()}  review by  note about {note.provider}  {note.file}"))
    return [line for _, line in sorted(dated, key=lambda d: d[0])]
