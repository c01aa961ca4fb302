"""`kb add`: a new document is copied in, registered, and drafted one passage per paragraph,
quoted verbatim; drafts never answer; `kb check` says what is left to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.__main__ import main
from bot.app import build_bot
from bot.core import Incoming
from bot.drafts import MIN_WORDS, AddError, add_source, paragraphs
from bot.kbcheck import check, errors
from bot.knowledge import load, normalize_quote
from bot.settings import Settings
from tests.conftest import ROOT, TODAY

DOCUMENT = """\
Shelter Report

# Winter shelters

The city opened three new winter shelters for asylum claimants in January, each with
room for forty people and meals served twice a day.

(Photo: archives)

Volunteers at the shelters said that families with children wait longest: "we need
more rooms where a family can stay together", one of them said.
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    return tmp_path / "knowledge"


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "inbox" / "shelter-report.txt"
    path.parent.mkdir()
    path.write_text(DOCUMENT, encoding="utf-8")
    return path


def add(checkout: Path, path: Path, **given: str) -> object:
    values = {"title": "Shelter Report", "publisher": "Example Daily", "when": "2024-03-05"} | given
    return add_source(checkout, path, today=TODAY, **values)


def drafts_of(checkout: Path, source_id: str) -> list[dict[str, object]]:
    data = yaml.safe_load((checkout / "passages" / f"{source_id}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_kb_add_copies_the_document_registers_it_and_drafts_one_passage_per_paragraph(
    checkout: Path, document: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_KNOWLEDGE_DIR", str(checkout))
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    argv = ["kb", "add", str(document), "--title", "Shelter Report", "--publisher", "Example Daily"]
    assert main([*argv, "--date", "2024-03-05", "--kind", "news"]) == 0
    out = capsys.readouterr().out
    sid = "shelter-report-2024-03-05"
    assert f"source {sid}: seeds/shelter-report.txt" in out and "2 draft passage(s)" in out

    copied = checkout.parent / "seeds" / "shelter-report.txt"
    assert copied.read_bytes() == document.read_bytes()
    kb = load(checkout)
    source = kb.sources[sid]
    assert (source.title, source.publisher, source.kind, source.file) == (
        "Shelter Report",
        "Example Daily",
        "news",
        "seeds/shelter-report.txt",
    )
    drafts = drafts_of(checkout, sid)
    assert [d["id"] for d in drafts] == [f"{sid}-01", f"{sid}-02"]
    assert all(d["status"] == "draft" and str(d["as_of"]) == "2024-03-05" for d in drafts)
    assert all(not d[lang] for d in drafts for lang in ("en", "fr", "es", "ar"))
    assert normalize_quote(str(drafts[1]["quote"])).startswith("Volunteers at the shelters said")

    # Drafts are not errors: kb check passes and lists what is left to fill.
    problems = check(checkout)
    assert errors(problems) == []
    notes = [str(p) for p in problems if p.file == f"knowledge/passages/{sid}.yaml"]
    assert any("draft, not used to answer" in n for n in notes)
    assert any("topics to choose" in n for n in notes)
    assert sum("translation to fill" in n for n in notes) == 2 * 3
    assert sum("en: text to fill" in n for n in notes) == 2


def test_a_draft_never_answers_even_when_it_quotes_the_question_word_for_word(checkout: Path, document: Path) -> None:
    add(checkout, document)
    path = checkout / "passages" / "shelter-report-2024-03-05.yaml"
    english = "The city opened three new winter shelters for asylum claimants in January."
    text = path.read_text(encoding="utf-8").replace("  topics: []", "  topics: [housing]", 1)
    path.write_text(text.replace("  en:\n", f"  en: {english}\n", 1), encoding="utf-8")
    bot = build_bot(Settings(knowledge_dir=checkout, today=TODAY))
    reply = bot.handle(Incoming("How many new winter shelters did the city open for asylum claimants?"))
    assert all(not c.source_id.startswith("shelter-report") for c in reply.citations)


def test_short_paragraphs_and_headings_are_left_out_and_counted() -> None:
    kept, skipped = paragraphs(DOCUMENT)
    assert len(kept) == 2 and skipped == 3  # the title line, the heading, the photo credit
    assert all(len(p.split()) >= MIN_WORDS for p in kept)


def test_a_date_known_only_to_the_month_is_registered_with_a_date_note(checkout: Path, document: Path) -> None:
    add(checkout, document, when="2024-03")
    assert errors(check(checkout)) == []
    source = load(checkout).sources["shelter-report-2024-03"]
    assert source.date is not None and source.date.iso() == "2024-03"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"title": ""}, "--title"),
        ({"when": "March 2024"}, "--date"),
        ({"kind": "blog"}, "--kind"),
        ({"source_id": "Bad Id"}, "source id"),
        ({"source_id": "tml-2024-02-28"}, "already registered"),
    ],
)
def test_kb_add_refuses_what_it_cannot_register_and_writes_nothing(
    checkout: Path, document: Path, given: dict[str, str], says: str
) -> None:
    before = (checkout / "sources.yaml").read_bytes()
    with pytest.raises(AddError, match=says):
        add(checkout, document, **given)
    assert (checkout / "sources.yaml").read_bytes() == before
    assert not (checkout.parent / "seeds" / "shelter-report.txt").exists()


def test_kb_add_refuses_a_file_that_is_not_text_or_has_nothing_to_quote(checkout: Path, tmp_path: Path) -> None:
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF-1.7\xff\xfe\x00\x01")
    with pytest.raises(AddError, match="not UTF-8 text"):
        add(checkout, binary)
    short = tmp_path / "short.txt"
    short.write_text("Too short.\n\nAlso short.\n", encoding="utf-8")
    with pytest.raises(AddError, match="no paragraph"):
        add(checkout, short)
    with pytest.raises(AddError, match="no such file"):
        add(checkout, tmp_path / "missing.txt")


def test_a_document_already_registered_is_not_registered_twice(checkout: Path) -> None:
    seed = checkout.parent / "seeds" / "004_94f9a10c7c01f0f6.txt"
    with pytest.raises(AddError, match="already registered as source 'ircc-cimm-2024-02-07'"):
        add(checkout, seed, source_id="ircc-again")


def test_kb_add_never_overwrites_drafts_or_another_file_of_the_same_name(
    checkout: Path, document: Path, tmp_path: Path
) -> None:
    add(checkout, document)
    with pytest.raises(AddError, match="already registered"):
        add(checkout, document)
    other = tmp_path / "elsewhere" / "shelter-report.txt"
    other.parent.mkdir()
    other.write_text(DOCUMENT.replace("three", "four"), encoding="utf-8")
    with pytest.raises(AddError, match="already exists with other content"):
        add(checkout, other, source_id="another-shelter-report")


def test_the_command_line_says_what_is_wrong_in_one_line(
    checkout: Path, document: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_KNOWLEDGE_DIR", str(checkout))
    assert main(["kb", "add", str(document), "--title", "Shelter Report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: a document needs --publisher, --date") and err.count("\n") == 1


def test_kb_check_reports_a_quote_that_no_longer_matches_after_its_source_changed(
    checkout: Path, document: Path
) -> None:
    add(checkout, document)
    assert errors(check(checkout)) == []
    seed = checkout.parent / "seeds" / "shelter-report.txt"
    seed.write_text(DOCUMENT.replace("forty people", "fifty people"), encoding="utf-8")
    found = errors(check(checkout))
    assert [p.message.split(":")[0] for p in found] == ["shelter-report-2024-03-05-01"]
    assert "quote not found verbatim" in found[0].message and "if its file changed" in found[0].message


paragraph_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(paragraph_text, min_size=MIN_WORDS, max_size=14), lines=st.integers(1, 3))
def test_every_draft_quotes_its_paragraph_verbatim_whatever_the_characters(
    tmp_path_factory: pytest.TempPathFactory, words: list[str], lines: int
) -> None:
    root = tmp_path_factory.mktemp("kb")
    (root / "knowledge" / "passages").mkdir(parents=True)
    shutil.copy(ROOT / "knowledge" / "sources.yaml", root / "knowledge" / "sources.yaml")
    tokens = [w.replace("\n", " ").replace("\r", " ").strip() or "x" for w in words]
    step = max(1, len(tokens) // lines)
    body = "\n".join(" ".join(tokens[i : i + step]) for i in range(0, len(tokens), step))
    document = root / "doc.txt"
    document.write_text(f"{body}\n\nA second paragraph with enough words to be kept here.\n", encoding="utf-8")
    try:
        add_source(root / "knowledge", document, title="T", publisher="P", when="2024", today=TODAY)
    except AddError as exc:
        assert "no paragraph" in str(exc) or "already" in str(exc)
        return
    kept, _ = paragraphs(document.read_text(encoding="utf-8"))
    drafts = drafts_of(root / "knowledge", "t-2024")
    assert [normalize_quote(str(d["quote"])) for d in drafts] == [normalize_quote(k) for k in kept]
    text = normalize_quote(document.read_text(encoding="utf-8"))
    assert all(normalize_quote(str(d["quote"])) in text for d in drafts)
