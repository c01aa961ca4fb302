"""`kb check`: the real knowledge base passes, and each kind of defect is reported at its line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.kbcheck import Problem, check, errors

ROOT = Path(__file__).resolve().parent.parent
PASSAGES = "knowledge/passages/test.yaml"
SOURCES = "knowledge/sources.yaml"

# Two vetted passages quoting seed 004 (a small source, so that checking stays fast).
# The second one states numbers, written the way each language writes them
# (knowledge/README.md, "Numbers").
VALID = """\
- id: test-trafficking-victims-permits
  source: ircc-cimm-2024-02-07
  topics: [trafficking, permits]
  as_of: 2024-02-07
  vetted_by: test maintainers
  vetted_on: 2026-11-21
  quote: >-
    To help support victims of human trafficking in Canada, IRCC continues to issue free
    Temporary Resident Permits to out-of-status foreign national victims of human trafficking.
  en: >-
    To help support victims of human trafficking in Canada, IRCC issues free Temporary Resident
    Permits to foreign nationals who are victims of human trafficking and are out of status.
  fr: >-
    Pour aider les victimes de la traite de personnes au Canada, IRCC délivre des permis de
    séjour temporaire gratuits aux ressortissants étrangers victimes de la traite qui n'ont pas
    de statut.
  es: >-
    Para ayudar a las víctimas de la trata de personas en Canadá, IRCC emite permisos de
    residencia temporal gratuitos a los extranjeros víctimas de la trata que no tienen estatus.
  ar: >-
    لمساعدة ضحايا الاتجار بالبشر في كندا، تصدر دائرة الهجرة واللاجئين والمواطنة الكندية (IRCC)
    تصاريح إقامة مؤقتة مجانية للرعايا الأجانب من ضحايا الاتجار بالبشر الذين ليس لديهم وضع قانوني.

- id: test-mexico-visa-lifted-visitors
  source: ircc-cimm-2024-02-07
  topics: [mexico, statistics]
  as_of: 2024-02-07
  vetted_by: test maintainers
  vetted_on: 2026-11-21
  quote: >-
    In December 2016, the Government of Canada lifted the visa requirement for Mexican nationals.
    Since then, Canada has welcomed over 2M visitors from Mexico, who have spent more than $2.4B
    in Canadian hotels, restaurants and other businesses.
  en: >-
    According to IRCC, the Government of Canada lifted the visa requirement for Mexican nationals
    in December 2016. Since then, Canada has welcomed over 2 million visitors from Mexico, who have
    spent more than $2.4 billion in Canadian hotels, restaurants and other businesses.
  fr: >-
    Selon IRCC, le gouvernement du Canada a levé l'obligation de visa pour les ressortissants
    mexicains en décembre 2016. Depuis, le Canada a accueilli plus de 2 millions de visiteurs du
    Mexique, qui ont dépensé plus de 2,4 milliards de dollars dans les hôtels, les restaurants et
    les autres entreprises du Canada.
  es: >-
    Según IRCC, el Gobierno de Canadá eliminó el requisito de visa para los ciudadanos mexicanos
    en diciembre de 2016. Desde entonces, Canadá ha recibido a más de 2 millones de visitantes de
    México, que han gastado más de 2,4 mil millones de dólares en hoteles, restaurantes y otros
    negocios canadienses.
  ar: >-
    وفقًا لدائرة الهجرة واللاجئين والمواطنة الكندية (IRCC)، ألغت حكومة كندا في ديسمبر 2016 شرط
    التأشيرة للمواطنين المكسيكيين. ومنذ ذلك الحين استقبلت كندا أكثر من 2 مليون زائر من المكسيك،
    أنفقوا أكثر من 2.4 مليار دولار في الفنادق والمطاعم والشركات الكندية الأخرى.
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of `text` containing `needle`."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}, expected exactly one"
    return lines[0]


def changed(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the test passages"
    return text.replace(old, new)


def write_passages(kb: Path, text: str) -> None:
    (kb / "passages" / "test.yaml").write_text(text, encoding="utf-8")


def shown(problems: list[Problem]) -> str:
    return "\n".join(map(str, problems)) or "(no problems)"


def assert_reported(problems: list[Problem], file: str, line: int, phrase: str) -> Problem:
    """The error reported at `file:line` whose message says `phrase`."""
    found = [p for p in errors(problems) if str(p).startswith(f"{file}:{line}: ") and phrase in p.message]
    assert found, f"expected an error at {file}:{line} saying {phrase!r}, got:\n{shown(problems)}"
    return found[0]


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A small valid knowledge base in tmp_path: the real registries and seeds, two passages."""
    knowledge = tmp_path / "knowledge"
    (knowledge / "passages").mkdir(parents=True)
    for name in ("sources.yaml", "topics.yaml", "glossary.yaml", "stopwords.yaml", "triage.yaml"):
        shutil.copy(ROOT / "knowledge" / name, knowledge / name)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    write_passages(knowledge, VALID)
    return knowledge


KB_CHECK = [sys.executable, "-m", "bot", "kb", "check"]


def run_kb_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        KB_CHECK, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False
    )


@pytest.fixture(scope="module")
def real_kb_check_command() -> Iterator[subprocess.Popen[str]]:
    """`python -m bot kb check` on the real knowledge base, started early.

    Checking the real knowledge base takes about two seconds; started before the in-process
    check, the command runs beside it instead of after it.
    """
    env = {k: v for k, v in os.environ.items() if k != "BOT_KNOWLEDGE_DIR"}
    process = subprocess.Popen(
        KB_CHECK, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


# The real knowledge base


@pytest.mark.usefixtures("real_kb_check_command")  # runs alongside this test
def test_the_real_knowledge_base_passes_kb_check() -> None:
    problems = check(ROOT / "knowledge")
    assert not errors(problems), shown(errors(problems))


def test_kb_check_command_exits_zero_on_the_real_knowledge_base(real_kb_check_command: subprocess.Popen[str]) -> None:
    stdout, stderr = real_kb_check_command.communicate(timeout=60)
    assert real_kb_check_command.returncode == 0, stdout + stderr
    assert "knowledge base OK" in stderr


# A small knowledge base, and one defect at a time


def test_the_test_knowledge_base_passes_kb_check(kb: Path) -> None:
    problems = check(kb)
    assert problems == [], shown(problems)


def test_a_passage_naming_an_unknown_source_is_reported_on_its_source_line(kb: Path) -> None:
    text = changed(
        "  source: ircc-cimm-2024-02-07\n  topics: [trafficking", "  source: no-such-source\n  topics: [trafficking"
    )
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "no-such-source"), "unknown source 'no-such-source'")


def test_a_duplicate_passage_id_is_reported_on_the_second_ones_line(kb: Path) -> None:
    text = changed("- id: test-mexico-visa-lifted-visitors", "- id: test-trafficking-victims-permits")
    write_passages(kb, text)
    second = text.splitlines().index("- id: test-trafficking-victims-permits", 1) + 1
    problems = check(kb)
    assert_reported(problems, PASSAGES, second, "duplicate passage id 'test-trafficking-victims-permits'")
    assert not [p for p in errors(problems) if p.line == 1], shown(problems)


def test_a_quote_changed_by_one_word_is_reported_with_its_line(kb: Path) -> None:
    text = changed("IRCC continues to issue free", "IRCC continues to issue paid")
    write_passages(kb, text)
    quote_line = text.splitlines().index("  quote: >-") + 1
    assert_reported(check(kb), PASSAGES, quote_line, "quote not found verbatim in source 'ircc-cimm-2024-02-07'")


def test_a_quote_differing_only_in_line_breaks_spaces_and_markdown_escapes_passes(kb: Path) -> None:
    # Seed 000 writes "\$33 million"; the quote writes "$33 million", over other line breaks.
    passage = """\
- id: test-quebec-last-resort-aid
  source: tml-2024-02-28
  topics: [quebec, statistics]
  as_of: 2024-02-28
  vetted_by: test maintainers
  vetted_on: 2026-11-21
  quote: |
    To provide for their needs while they await a work permit,   asylum seekers
    also receive last-resort financial aid from Quebec.
      Last October, some 43,200 asylum
    seekers received $33 million.
  en: >-
    According to Quebec Premier François Legault, last October some 43,200 asylum seekers
    received $33 million in last-resort financial aid from Quebec.
  fr: >-
    Selon le premier ministre du Québec, François Legault, en octobre dernier, quelque 43 200
    demandeurs d'asile ont reçu 33 millions de dollars d'aide financière de dernier recours.
  es: >-
    Según el primer ministro de Quebec, François Legault, el pasado octubre unos 43 200
    solicitantes de asilo recibieron 33 millones de dólares de ayuda financiera de último recurso.
  ar: >-
    وفقًا لرئيس وزراء كيبيك فرانسوا لوغو، تلقى نحو 43,200 من طالبي اللجوء في أكتوبر الماضي
    33 مليون دولار من المساعدة المالية كملاذ أخير من كيبيك.
"""
    assert "\\$33 million" in (kb.parent / "seeds" / "000_6cc23ed776787ec9.txt").read_text(encoding="utf-8")
    write_passages(kb, passage)
    problems = check(kb)
    assert problems == [], shown(problems)


def test_a_passage_without_arabic_is_reported_as_missing_a_language_on_its_first_line(kb: Path) -> None:
    arabic = (
        "  ar: >-\n"
        "    لمساعدة ضحايا الاتجار بالبشر في كندا، تصدر دائرة الهجرة واللاجئين والمواطنة الكندية (IRCC)\n"
        "    تصاريح إقامة مؤقتة مجانية للرعايا الأجانب من ضحايا الاتجار بالبشر الذين ليس لديهم وضع قانوني.\n"
    )
    text = changed(arabic, "")
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, 1, "test-trafficking-victims-permits: ar: missing language")


def test_an_empty_french_text_is_reported_on_its_line(kb: Path) -> None:
    french = (
        "  fr: >-\n"
        "    Pour aider les victimes de la traite de personnes au Canada, IRCC délivre des permis de\n"
        "    séjour temporaire gratuits aux ressortissants étrangers victimes de la traite qui n'ont pas\n"
        "    de statut.\n"
    )
    text = changed(french, '  fr: ""\n')
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, 'fr: ""'), "fr: missing language")


def test_a_valid_until_that_is_not_a_date_is_reported_on_its_line(kb: Path) -> None:
    text = changed(
        "  as_of: 2024-02-07\n  vetted_by: test maintainers\n  vetted_on: 2026-11-21\n  quote: >-\n    To",
        "  as_of: 2024-02-07\n  valid_until: soon\n  vetted_by: test maintainers\n  vetted_on: 2026-11-21\n"
        "  quote: >-\n    To",
    )
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "valid_until: soon"), "valid_until: bad date 'soon'")


def test_an_as_of_that_is_an_impossible_date_is_reported_on_its_line(kb: Path) -> None:
    text = changed(
        "  as_of: 2024-02-07\n  vetted_by: test maintainers\n  vetted_on: 2026-11-21\n  quote: >-\n    To",
        "  as_of: 2024-13-45\n  vetted_by: test maintainers\n  vetted_on: 2026-11-21\n  quote: >-\n    To",
    )
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "2024-13-45"), "bad date")


def test_an_unknown_topic_is_reported_on_the_topics_line(kb: Path) -> None:
    text = changed("  topics: [mexico, statistics]", "  topics: [mexico, weather]")
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "weather"), "unknown topic 'weather'")


def test_a_misspelt_field_is_reported_as_unknown_on_its_line(kb: Path) -> None:
    text = changed("  topics: [mexico, statistics]\n", "  topics: [mexico, statistics]\n  valid_untill: 2025-01-01\n")
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "valid_untill"), "unknown field 'valid_untill'")


def test_a_translation_adding_a_number_the_english_does_not_have_is_reported_on_its_line(kb: Path) -> None:
    text = changed("de statut.\n", "de statut depuis 2019.\n")
    write_passages(kb, text)
    fr_line = text.splitlines().index("  fr: >-") + 1
    assert_reported(check(kb), PASSAGES, fr_line, "fr states 2019, which en does not")


def test_an_english_text_stating_a_number_the_source_does_not_have_is_reported_on_its_line(kb: Path) -> None:
    text = changed("are out of status.\n", "are out of status, for 90 days.\n")
    write_passages(kb, text)
    en_line = text.splitlines().index("  en: >-") + 1
    assert_reported(check(kb), PASSAGES, en_line, "en states 90, which the source does not")


def test_a_valid_until_before_as_of_is_reported_on_its_line(kb: Path) -> None:
    text = changed("  topics: [mexico, statistics]\n", "  topics: [mexico, statistics]\n  valid_until: 2024-01-31\n")
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "valid_until"), "valid_until is before as_of")


def test_a_draft_without_translations_is_only_a_note(kb: Path) -> None:
    draft = """\
- id: test-draft-trafficking-victims-permits
  source: ircc-cimm-2024-02-07
  topics: [trafficking, permits]
  as_of: 2024-02-07
  status: draft
  quote: >-
    To help support victims of human trafficking in Canada, IRCC continues to issue free
    Temporary Resident Permits to out-of-status foreign national victims of human trafficking.
"""
    write_passages(kb, draft)
    problems = check(kb)
    assert errors(problems) == [], shown(problems)
    notes = [p for p in problems if p.severity == "note"]
    assert any(p.line == 1 and "draft, not used to answer" in p.message for p in notes), shown(problems)
    assert {p.message.split(": ")[1] for p in notes if "to fill" in p.message} == {"en", "fr", "es", "ar"}
    assert all(str(p).startswith(f"{PASSAGES}:1: note: ") for p in notes), shown(problems)


def test_invalid_yaml_is_reported_with_its_line(kb: Path) -> None:
    text = changed(
        "  vetted_by: test maintainers\n  vetted_on: 2026-11-21\n  quote: >-\n    In December",
        "  vetted_by: test: maintainers\n  vetted_on: 2026-11-21\n  quote: >-\n    In December",
    )
    write_passages(kb, text)
    assert_reported(check(kb), PASSAGES, line_of(text, "test: maintainers"), "not valid YAML")


def test_a_source_whose_file_does_not_exist_is_reported_on_its_file_line(kb: Path) -> None:
    sources = (kb / "sources.yaml").read_text(encoding="utf-8")
    sources = changed("file: seeds/004_94f9a10c7c01f0f6.txt", "file: seeds/004_missing.txt", sources)
    (kb / "sources.yaml").write_text(sources, encoding="utf-8")
    problems = check(kb)
    line = line_of(sources, "004_missing.txt")
    assert_reported(problems, SOURCES, line, "file: seeds/004_missing.txt does not exist")


# The command on a broken knowledge base


def test_kb_check_command_exits_one_and_prints_file_line_message_for_a_broken_knowledge_base(kb: Path) -> None:
    text = changed("  topics: [mexico, statistics]", "  topics: [mexico, weather]")
    write_passages(kb, text)
    result = run_kb_check({**os.environ, "BOT_KNOWLEDGE_DIR": str(kb)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^knowledge/passages/test\.yaml:\d+: ", result.stdout, re.MULTILINE), result.stdout
    line = line_of(text, "weather")
    assert f"knowledge/passages/test.yaml:{line}: test-mexico-visa-lifted-visitors: unknown topic" in result.stdout


def test_a_pattern_is_compiled_as_triage_runs_it_folded_with_its_repeats_as_written(kb: Path) -> None:
    # Folding once read the repeat {0,15} as the number 0.15, and the rule never matched.
    path = kb / "triage.yaml"
    text = path.read_text(encoding="utf-8")
    rule = "      - \\bpain.{0,15}chest\n"
    path.write_text(text.replace("      - suicid\n", "      - suicid\n" + rule, 1), encoding="utf-8")
    assert not errors(check(kb))
    broken = text.replace("      - suicid\n", "      - suicid\n      - \\bpain(?:chest\n", 1)
    path.write_text(broken, encoding="utf-8")
    assert any("does not compile" in p.message for p in errors(check(kb)))


def test_the_elsewhere_rules_name_real_categories_and_compile(kb: Path) -> None:
    path = kb / "triage.yaml"
    text = path.read_text(encoding="utf-8")
    assert "  categories: [violence]\n" in text
    broken = text.replace("  categories: [violence]\n", "  categories: [violence, floods]\n", 1)
    path.write_text(broken.replace("  unless:\n", "  unless_:\n", 1), encoding="utf-8")
    problems = errors(check(kb))
    assert any("'floods' is not an emergency category" in p.message for p in problems), shown(problems)
    assert any("elsewhere.unless: missing" in p.message for p in problems), shown(problems)
    path.write_text(
        text.replace("elsewhere:\n  categories", "elsewhere: []\nunused:\n  categories", 1), encoding="utf-8"
    )
    assert any("elsewhere: must have" in p.message for p in errors(check(kb)))
