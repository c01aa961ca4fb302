"""Every user-facing sentence is in the four gettext catalogs, complete and consistent."""

from __future__ import annotations

import ast
import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.i18n import load_catalogs

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("en", "fr", "es", "ar")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def catalog(lang: str):  # type: ignore[no-untyped-def]
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _key(m) -> object:  # type: ignore[no-untyped-def]
    """A message's identity: its context (a partial date's precision) and its id."""
    return (m.context, m.id if isinstance(m.id, str) else tuple(m.id))


def template_ids() -> set[object]:
    with (ROOT / "locales" / "messages.pot").open("rb") as fh:
        return {_key(m) for m in read_po(fh) if m.id}


def test_the_template_holds_every_message_in_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "locales/babel.cfg",
            "-k",
            "_",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as fh:
        extracted = {_key(m) for m in read_po(fh) if m.id}
    assert extracted == template_ids(), "run the extract and update commands of the README"


def test_every_translated_call_in_the_code_is_one_babel_extracts() -> None:
    # Babel's extractor does not look inside f-strings: m._("...") written there is
    # shown untranslated. Every literal passed to _ or ngettext must be in the template.
    ids = template_ids()
    missing = []
    for path in sorted((ROOT / "bot").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.attr == "_" and args:
                key: object = (None, args[0])
            elif node.func.attr == "ngettext" and len(args) >= 2:
                key = (None, (args[0], args[1]))
            elif node.func.attr == "pgettext" and len(args) >= 2:
                key = (args[0], args[1])
            else:
                continue
            if key not in ids:
                missing.append(f"{path.name}:{node.lineno}")
    assert not missing, f"not extracted (inside an f-string?): {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_catalog_translates_every_message_without_fuzzy_entries(lang: str) -> None:
    cat = catalog(lang)
    ids = {_key(m) for m in cat if m.id}
    assert ids == template_ids()
    for m in cat:
        if not m.id:
            continue
        assert not m.fuzzy, m.id
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert strings and all(s.strip() for s in strings), f"untranslated in {lang}: {m.id!r}"


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_are_the_same_as_in_english(lang: str) -> None:
    for m in catalog(lang):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        expected = set(PLACEHOLDER.findall(" ".join(ids)))
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for s in strings:
            found = set(PLACEHOLDER.findall(s))
            # A singular form may leave out the count ("this topic"), never add one.
            assert found <= expected and (found or not expected or isinstance(m.id, tuple)), (lang, m.id, s)


def test_arabic_plural_forms_follow_cldr() -> None:
    cat = catalog("ar")
    assert cat.num_plurals == 6
    rule = Locale.parse("ar").plural_form
    order = ["zero", "one", "two", "few", "many", "other"]
    plural = gettext.c2py(cat.plural_expr)  # how gettext itself reads the header
    for n in range(0, 250):
        assert plural(n) == order.index(rule(n)), n


def test_arabic_counts_choose_the_cldr_form() -> None:
    ar = load_catalogs(ROOT / "locales")["ar"]
    one, two, ten, eleven = (ar.ngettext("Source:", "Sources:", n) for n in (1, 2, 10, 11))
    assert one == "المصدر:" and two == "المصدران:" and ten == "المصادر:" and eleven == "المصادر:"


def test_a_catalog_compiled_at_build_time_is_used_when_newer(tmp_path: Path) -> None:
    for lang in LANGS:
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_bytes((ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").read_bytes())
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-D", "messages", "-d", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "fr" / "LC_MESSAGES" / "messages.mo").exists()
    assert load_catalogs(tmp_path)["fr"]._("date unknown") == "date inconnue"
