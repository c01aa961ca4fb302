"""Service-provider notes: `knowledge/notes/*.md` register themselves as sources, `kb check`
holds them to their front matter, and answers cite them as "Note about <provider>, <date>"."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.app import build_bot
from bot.core import Incoming
from bot.freshness import report as stale_report
from bot.kbcheck import Problem, check, errors
from bot.knowledge import NOTE_FIELDS, NOTE_OPTIONAL_FIELDS, load, note_files, read_note
from bot.settings import Settings
from tests.conftest import ROOT, TODAY

FRONT = """\
---
provider: Example Legal Clinic
offers: free legal information about refugee claims
for_whom: asylum claimants
languages: not stated in our sources; check with the organisation
how_to_reach: not stated in our sources; check with the organisation
hours: not stated in our sources; check with the organisation
area: Montreal
written: 2026-10-01
review_by: 2027-04-01
author: test maintainers
---
"""
BODY = """
# Example Legal Clinic

The Example Legal Clinic gives free legal information about refugee claims to asylum
claimants in Montreal. This note gives no telephone number, address or opening hours;
check with the clinic.
"""
PASSAGE = """\
- id: note-example-clinic-what-it-offers
  source: note-example-clinic
  topics: [asylum]
  as_of: 2026-10-01
  vetted_by: test maintainers
  vetted_on: 2026-10-01
  quote: >-
    The Example Legal Clinic gives free legal information about refugee claims to asylum
    claimants in Montreal.
  en: >-
    The Example Legal Clinic gives free legal information about refugee claims to asylum
    claimants in Montreal.
  fr: >-
    La clinique juridique Example Legal Clinic donne gratuitement de l'information juridique
    sur les demandes d'asile aux demandeurs d'asile à Montréal.
  es: >-
    La clínica jurídica Example Legal Clinic da información jurídica gratuita sobre las
    solicitudes de asilo a los solicitantes de asilo en Montreal.
  ar: >-
    تقدّم عيادة Example Legal Clinic القانونية معلومات قانونية مجانية عن طلبات اللجوء لطالبي
    اللجوء في مونتريال.
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the real knowledge base and seeds, with one note and its passage."""
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    (tmp_path / "knowledge" / "notes" / "example-clinic.md").write_text(FRONT + BODY, encoding="utf-8")
    (tmp_path / "knowledge" / "passages" / "note-example-clinic.yaml").write_text(PASSAGE, encoding="utf-8")
    return tmp_path / "knowledge"


def note_path(knowledge: Path) -> Path:
    return knowledge / "notes" / "example-clinic.md"


def edit_note(knowledge: Path, old: str, new: str) -> None:
    path = note_path(knowledge)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems_in(knowledge: Path, file: str) -> list[Problem]:
    return [p for p in errors(check(knowledge)) if p.file == file]


NOTE_FILE = "knowledge/notes/example-clinic.md"


def test_a_note_registers_itself_as_a_service_provider_source(checkout: Path) -> None:
    assert errors(check(checkout)) == []
    kb = load(checkout)
    source = kb.sources["note-example-clinic"]
    assert (source.kind, source.provider, source.file) == (
        "service-provider",
        "Example Legal Clinic",
        NOTE_FILE,
    )
    assert source.date is not None and source.date.first_day == date(2026, 10, 1)
    assert source.review_by == date(2027, 4, 1)
    # Its text is the body: what a passage may quote.
    assert "free legal information" in kb.source_texts["note-example-clinic"]
    assert "how_to_reach" not in kb.source_texts["note-example-clinic"]


@pytest.mark.parametrize(
    ("language", "question", "shown"),
    [
        ("en", "Where can asylum claimants get free legal information in Montreal?", "Note about"),
        (
            "fr",
            "Où les demandeurs d'asile peuvent-ils obtenir de l'information juridique gratuite à Montréal ?",
            "Note sur",
        ),
        (
            "es",
            "¿Dónde pueden los solicitantes de asilo obtener información jurídica gratuita en Montreal?",
            "Nota sobre",
        ),
        ("ar", "أين يمكن لطالبي اللجوء الحصول على معلومات قانونية مجانية في مونتريال؟", "ملاحظة عن"),
    ],
)
def test_an_answer_from_a_note_cites_it_as_a_note_about_the_provider_with_its_date(
    checkout: Path, language: str, question: str, shown: str
) -> None:
    bot = build_bot(Settings(knowledge_dir=checkout, today=TODAY))
    reply = bot.handle(Incoming(question))
    assert reply.kind == "answer" and reply.language == language
    note = [c for c in reply.citations if c.source_id == "note-example-clinic"]
    assert note, [c.passage_id for c in reply.citations]
    assert note[0].shown.startswith(f"{shown} Example Legal Clinic")
    assert note[0].source_file == NOTE_FILE
    assert f"[{note[0].number}] {note[0].shown}" in reply.text
    assert "2026" in note[0].shown


def test_the_template_is_not_a_note_and_shows_every_front_matter_field() -> None:
    template = ROOT / "knowledge" / "notes" / "_template.md"
    assert template not in note_files(ROOT / "knowledge")
    fields = read_note(template).fields
    assert set(fields) == set(NOTE_FIELDS) | set(NOTE_OPTIONAL_FIELDS)
    assert "TEMPLATE" in template.read_text(encoding="utf-8").splitlines()[1]


@pytest.mark.parametrize("field", NOTE_FIELDS)
def test_kb_check_asks_for_every_front_matter_field_and_says_where(checkout: Path, field: str) -> None:
    line = next(i for i, text in enumerate(FRONT.splitlines(), 1) if text.startswith(f"{field}:"))
    edit_note(checkout, FRONT.splitlines()[line - 1], f"{field}:")
    found = problems_in(checkout, NOTE_FILE)
    assert [(p.line, p.message.split(":")[0]) for p in found] == [(line, field)]
    assert "check with the organisation" in found[0].message


def test_kb_check_rejects_an_unknown_field_a_bad_date_and_a_review_before_writing(checkout: Path) -> None:
    edit_note(checkout, "area: Montreal", "area: Montreal\nphone_number: 514")
    edit_note(checkout, "review_by: 2027-04-01", "review_by: 2026-09-01")
    messages = [p.message for p in problems_in(checkout, NOTE_FILE)]
    assert any("unknown field 'phone_number'" in m for m in messages)
    assert any("review_by must be after written" in m for m in messages)
    edit_note(checkout, "written: 2026-10-01", "written: 2026-13-45")
    assert any("written: bad date" in p.message for p in problems_in(checkout, NOTE_FILE))


def test_kb_check_rejects_a_note_without_front_matter_or_with_an_unknown_source(checkout: Path) -> None:
    edit_note(checkout, "author: test maintainers", "author: test maintainers\ndrawn_from: [no-such-source]")
    assert any("drawn_from: unknown source" in p.message for p in problems_in(checkout, NOTE_FILE))
    note_path(checkout).write_text(BODY, encoding="utf-8")
    found = problems_in(checkout, NOTE_FILE)
    assert found and "not a note" in found[0].message and found[0].line == 1


def test_a_passage_may_quote_the_body_of_a_note_but_not_its_front_matter(checkout: Path) -> None:
    passages = checkout / "passages" / "note-example-clinic.yaml"
    text = passages.read_text(encoding="utf-8")
    quote = (
        "The Example Legal Clinic gives free legal information about refugee claims to asylum\n"
        "    claimants in Montreal."
    )
    assert text.count(quote) == 2  # the quote, and the English text that says the same
    # The front matter says "offers: free legal information ..."; a quote of it is refused.
    passages.write_text(text.replace(quote, "offers: free legal information about refugee claims", 1), encoding="utf-8")
    found = problems_in(checkout, "knowledge/passages/note-example-clinic.yaml")
    assert any("quote not found verbatim" in p.message for p in found)


def test_a_note_no_passage_quotes_yet_is_pointed_out_but_is_not_an_error(checkout: Path) -> None:
    (checkout / "passages" / "note-example-clinic.yaml").unlink()
    problems = check(checkout)
    assert errors(problems) == []
    assert any(p.file == NOTE_FILE and "kb add" in p.message and p.severity == "note" for p in problems)


def test_kb_stale_lists_a_note_past_its_review_by_date(checkout: Path) -> None:
    kb = load(checkout)
    assert not any("Example Legal Clinic" in line for line in stale_report(kb, date(2027, 4, 1)))
    lines = stale_report(kb, date(2027, 4, 2))
    assert any(line.startswith("2027-04-01") and "note about Example Legal Clinic" in line for line in lines)


def test_a_note_that_is_not_utf8_is_reported_as_such(checkout: Path) -> None:
    note_path(checkout).write_bytes((FRONT + BODY).encode("utf-8").replace(b"Montreal", b"Montr\xe9al"))
    found = problems_in(checkout, NOTE_FILE)
    assert [(p.line, p.message) for p in found] == [(1, "not UTF-8 text")]
