"""`kb report`: per passage, times cited, thumbs up and down, age and languages; answers
per language and topic. Counted without anyone."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bot.conversation import TELEGRAM, Conversations, Inbound
from bot.core import Bot
from bot.normalize import LANGUAGES
from bot.storage import Store
from bot.usage import html_report, passage_usage, report
from tests.conftest import PEPPER, ROOT, TODAY


def test_citations_and_thumbs_are_counted_per_passage_and_reported(
    conversations: Conversations, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = conversations.receive(Inbound(TELEGRAM, "5", "1", "What is the Interim Federal Health Program?", "en"))
    answer = reply.messages[-1]
    conversations.receive(Inbound(TELEGRAM, "5", "2", "", "en", answer.buttons[0][0].action))
    usage = {u.passage_id: u for u in passage_usage(conversations.bot.kb, conversations.store, TODAY)}
    cited = [u for u in usage.values() if u.cited]
    assert cited and all(u.cited == 1 and u.helpful == 1 and u.unhelpful == 0 for u in cited)
    assert all(u.languages == ("en", "fr", "es", "ar") for u in usage.values())
    assert all(u.age_days > 365 for u in usage.values())  # sources of early 2024
    lines = report(conversations.bot.kb, conversations.store, TODAY)
    assert lines[1].split()[0] == "1"  # most cited first
    assert any(line.strip().startswith("en") for line in lines[lines.index("answers per language and topic:") :])
    tables = {r[0] for r in conversations.store.db.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table in ("citations", "answer_counts"):
        assert table in tables
        columns = [r[1] for r in conversations.store.db.conn.execute(f"PRAGMA table_info({table})")]
        assert "pseudonym" not in columns and "channel" not in columns

    from bot.__main__ import main

    conversations.store.checkpoint()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_PEPPER", PEPPER)
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    assert main(["kb", "report"]) == 0
    out, _ = capsys.readouterr()
    assert "cited" in out and "answers per language and topic:" in out

    page = tmp_path / "report.html"
    assert main(["kb", "report", "--html", str(page)]) == 0
    assert capsys.readouterr().err.strip() == f"report written to {page}"
    assert "<svg" in page.read_text(encoding="utf-8")
    assert main(["kb", "report", "--html", str(tmp_path / "no-such-folder" / "report.html")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot write")


# -- the HTML report -------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script>'


class Tables(HTMLParser):
    """The cells of every table of a page, as the text a reader sees (entities decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def svg_of(page: str) -> ElementTree.Element:
    """The inline chart, parsed as XML (so it is well formed)."""
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    assert page.count("<svg") == 1
    return ElementTree.fromstring(page[start:end])


def svg_texts(svg: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]


def test_html_report_charts_answers_per_topic_and_language(conversations: Conversations) -> None:
    kb, store = conversations.bot.kb, conversations.store
    conversations.receive(Inbound(TELEGRAM, "5", "1", "What is the Interim Federal Health Program?", "en"))
    with store.transaction():
        store.count_answer("fr", "health", [])
        store.count_answer("es", "", [])
    page = html_report(kb, store, TODAY)

    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page and '<meta charset="utf-8">' in page
    assert TODAY.isoformat() in page and kb.version in page and f"{len(kb.passages)} passages" in page
    assert "<style>" in page and "<script" not in page and "<link" not in page
    # Nothing is fetched: the only references are to the chart's own parts.
    assert all(ref.startswith("#") for ref in re.findall(r'(?:href|src)="([^"]*)"', page))
    texts = svg_texts(svg_of(page))
    assert {"en", "fr", "es", "ar"} <= set(texts)  # the legend
    assert kb.topics["health"].labels["en"] in texts and "(no topic)" in texts

    answers = Tables(page).tables[0]
    assert answers[0] == ["topic", "en", "fr", "es", "ar", "total"]
    body = {row[0]: row[1:] for row in answers[1:-1]}
    expected: dict[str, list[int]] = {}
    for language, topic, count in store.answer_counts():
        label = kb.topics[topic].labels["en"] if topic else "(no topic)"
        expected.setdefault(label, [0, 0, 0, 0])[LANGUAGES.index(language)] += count
    assert body == {label: [str(n) for n in [*row, sum(row)]] for label, row in expected.items()}
    assert answers[-1][0] == "all topics" and answers[-1][-1] == str(sum(c for _, _, c in store.answer_counts()))


def test_html_report_without_answers_says_so_and_draws_no_chart(bot: Bot, tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        page = html_report(bot.kb, store, TODAY)
    finally:
        store.close()
    assert "<svg" not in page and "No answers have been counted yet." in page
    kinds, passages = Tables(page).tables  # no empty table of answers
    assert [row[0] for row in kinds[1:]] == ["answer", "no_answer", "handoff", "emergency"]
    assert len(passages) == 1 + len(bot.kb.passages)


def test_html_report_escapes_passage_ids_topic_labels_and_topics(bot: Bot, tmp_path: Path) -> None:
    first, *rest = bot.kb.passages
    health = bot.kb.topics["health"]
    kb = replace(
        bot.kb,
        passages=(replace(first, id=HOSTILE), *rest),
        # "$" pairs and a backslash would be typeset as maths (or fail to parse) if read so.
        topics={**bot.kb.topics, "health": replace(health, labels={**health.labels, "en": HOSTILE + r" $\bad{ & $x$"})},
    )
    store = Store.open(tmp_path)
    try:
        with store.transaction():
            store.count_answer("en", "health", [HOSTILE])
            store.count_answer("ar", "<img src=x onerror=alert(1)>", [])
        page = html_report(kb, store, TODAY)
    finally:
        store.close()

    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    texts = svg_texts(svg_of(page))
    assert HOSTILE + r" $\bad{ & $x$" in texts and "<img src=x onerror=alert(1)>" in texts
    answers, _, passages = Tables(page).tables
    assert {row[0] for row in answers[1:-1]} == {HOSTILE + r" $\bad{ & $x$", "<img src=x onerror=alert(1)>"}
    assert passages[1][0] == "1" and passages[1][5] == HOSTILE  # most cited first, read back as written


def test_html_report_is_the_same_for_the_same_counts(bot: Bot, tmp_path: Path) -> None:
    pages = []
    for name in ("one", "two"):
        store = Store.open(tmp_path / name)
        try:
            with store.transaction():
                store.count_answer("en", "health", [bot.kb.passages[0].id])
                store.count_answer("fr", "asylum", [])
                store.count_feedback([bot.kb.passages[0].id], helpful=True)
            pages += [html_report(bot.kb, store, TODAY), html_report(bot.kb, store, TODAY)]
        finally:
            store.close()
    assert "<svg" in pages[0] and len(set(pages)) == 1


def test_html_report_per_passage_numbers_are_those_of_passage_usage(conversations: Conversations) -> None:
    reply = conversations.receive(Inbound(TELEGRAM, "5", "1", "What is the Interim Federal Health Program?", "en"))
    conversations.receive(Inbound(TELEGRAM, "5", "2", "", "en", reply.messages[-1].buttons[0][0].action))
    conversations.receive(Inbound(TELEGRAM, "6", "3", "How do I claim asylum in Canada?", "fr"))
    kb, store = conversations.bot.kb, conversations.store
    passages = Tables(html_report(kb, store, TODAY)).tables[-1]
    assert passages[0] == ["times cited", "👍", "👎", "age (days)", "languages", "passage", "source", "file:line"]
    expected = [
        [
            str(u.cited),
            str(u.helpful),
            str(u.unhelpful),
            str(u.age_days),
            ",".join(u.languages),
            u.passage_id,
            u.title,
            u.where,
        ]
        for u in passage_usage(kb, store, TODAY)
    ]
    assert passages[1:] == expected
    assert int(passages[1][0]) >= 1
    # The one 👍 counts once for each passage the answer cited.
    helpful = [int(row[1]) for row in passages[1:] if int(row[1])]
    assert helpful and set(helpful) == {1}


def test_matplotlib_is_loaded_only_when_the_html_report_is_made() -> None:
    code = "import sys, bot.app, bot.usage, bot.__main__; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"


def test_html_report_without_matplotlib_says_how_to_get_it_and_plain_report_still_works(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """matplotlib is an optional extra (`newcomer-bot[report]`), left out of the image."""
    from bot.__main__ import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed: importing it fails
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    page = tmp_path / "report.html"
    assert main(["kb", "report", "--html", str(page)]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "newcomer-bot[report]" in err and "without --html" in err
    assert "Traceback" not in err
    assert not page.exists()
    assert main(["kb", "report"]) == 0
    assert capsys.readouterr().out.strip()
