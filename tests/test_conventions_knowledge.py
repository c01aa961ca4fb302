"""The translation audit's findings stay fixed (issue 17): `kb check` reports a number in
another language's convention, a variant name for an organisation or program the glossary
names, an opinion's sentence without an attribution, a date known to the month or year that
a catalog cannot render, and the replies say what ended before what it was."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core import Bot, Reply
from bot.kbcheck import Problem, check, errors, number_convention_problems, unattributed
from bot.knowledge import passage_files, read_yaml

ROOT = Path(__file__).resolve().parent.parent
Ask = Callable[..., Reply]


def passage(pid: str) -> dict[str, object]:
    for path in passage_files(ROOT / "knowledge"):
        for raw, _, _ in read_yaml(path).entries():
            if raw.get("id") == pid:
                return dict(raw)
    raise KeyError(pid)


def folded(text: object) -> str:
    return re.sub(r"[ \n]+", " ", str(text)).strip()


# -- finding 1: the siblings' CHILDREN are the ones under 22 ---------------------------------


def test_the_age_limit_is_on_the_siblings_children_in_every_language() -> None:
    p = passage("gaza-pym-eligibility-criteria-and-demand")
    assert "hijos de sus hermanos menores de 22 años" not in folded(p["es"])  # the audit's misreading
    assert "siempre que esos hijos tengan menos de 22 años" in folded(p["es"])
    assert "à condition que ces enfants aient moins de 22 ans" in folded(p["fr"])
    assert "بشرط أن يكون هؤلاء الأبناء أنفسهم دون سن 22 عامًا" in folded(p["ar"])
    assert "siblings' children, when those children are under the age of 22" in folded(p["en"])


# -- numbers -----------------------------------------------------------------------------------

OLD_SPANISH = (
    "el límite de 1,000 solicitantes, más de 29,870 muertos, 52.000 estudiantes, "
    "36,4 por ciento, 2.3 millones de personas y 1,12 mil millones de dólares"
)


def test_the_audits_spanish_mixture_is_reported_number_by_number() -> None:
    found = " ".join(number_convention_problems(OLD_SPANISH, "es"))
    for figure in ("'1,000'", "'29,870'", "'52.000'", "'2.3'"):
        assert figure in found, found
    # A decimal comma is Spanish: 36,4 and 1,12 stand.
    assert "'36,4'" not in found and "'1,12'" not in found


@pytest.mark.parametrize(
    ("language", "good", "bad"),
    [
        ("en", "29,870 people, 2.4 billion, 1,000 applicants", ["29 870", "29.870", "2,4 billion", "29870"]),
        ("fr", "29\u00a0870 morts, 2,4 milliards, 1\u00a0000 demandeurs, 1000 demandeurs", ["29 870", "29,870", "2.4"]),
        ("es", "29\u00a0870 muertos, 2,4 mil millones, 1000 solicitantes", ["29 870", "29,870", "29.870", "2.4"]),
        ("ar", "29,870 قتيلًا، و2.4 مليار دولار", ["٢٫٤", "29 870", "2,4", "29.870"]),
    ],
)
def test_each_language_has_one_number_convention(language: str, good: str, bad: list[str]) -> None:
    assert number_convention_problems(good, language) == []
    for figure in bad:
        assert number_convention_problems(f"au moins {figure} ici", language), (language, figure)


@pytest.mark.parametrize("language", ["en", "fr", "es", "ar"])
def test_years_phone_numbers_and_section_numbers_are_not_numbers_to_group(language: str) -> None:
    text = "2023, 9-8-8, 911, 1-800-622-6232, 514-555-0123, section 25.2, article 25.2, artículo 25.2"
    assert number_convention_problems(text, language) == []


# -- attribution -------------------------------------------------------------------------------

OLD_REFUGEE_LAW_EN = (
    'According to the newsletter TML, refugee claimants seeking asylum are often called "illegal", '
    "which TML says violates the letter of refugee law: refugee law affirms that a refugee can cross "
    "a border whether or not it is at an official border crossing."
)


def test_the_audits_unattributed_clause_after_a_colon_is_reported() -> None:
    assert unattributed(OLD_REFUGEE_LAW_EN, "en") == [
        "refugee law affirms that a refugee can cross a border whether or not it is at an official border crossing."
    ]


def test_a_list_or_a_quotation_after_a_colon_continues_the_attribution() -> None:
    assert unattributed("The Movement's demands are: a faster process; no cap; a ceasefire.", "en") == []
    assert unattributed('Legault wrote: "Roxham Road must close."', "en") == []


@pytest.mark.parametrize("language", ["en", "fr", "es", "ar"])
def test_the_refugee_law_opinion_is_marked_and_attributed_in_every_sentence(language: str) -> None:
    p = passage("rights-refugee-law-crossing-border-not-official")
    assert p["stance"] == "opinion"
    assert unattributed(str(p[language]), language) == []
    assert len(re.findall(r"TML", str(p[language]))) >= 3  # each sentence names who says so


# -- kb check on a small knowledge base ---------------------------------------------------------

OPINION = """\
- id: test-refugee-law
  source: tml-2024-02-28
  topics: [asylum, border]
  stance: opinion
  as_of: {as_of}
  vetted_by: test maintainers
  vetted_on: 2026-11-21
  quote: >-
    Often refugee claimants seeking asylum are called "illegal," violating the letter of
    refugee law which affirms that a refugee can cross a border irrespective of whether it
    is an official border crossing or not.
  en: >-
    {en}
  fr: >-
    {fr}
  es: >-
    Según el boletín TML, a menudo se llama «ilegales» a los solicitantes de asilo, lo que,
    según TML, viola la letra del derecho de los refugiados. TML escribe que este derecho
    afirma que un refugiado puede cruzar una frontera sea o no por un paso fronterizo oficial.
  ar: >-
    وفقًا لنشرة TML، كثيرًا ما يوصف طالبو اللجوء بأنهم «غير شرعيين»، وترى TML أن ذلك يخالف نص
    قانون اللاجئين. وتكتب TML أن هذا القانون يؤكد أن اللاجئ يمكنه عبور الحدود سواء كان ذلك عبر
    معبر حدودي رسمي أم لا.
"""
EN = (
    'According to the newsletter TML, refugee claimants seeking asylum are often called "illegal", which '
    "TML says violates the letter of refugee law. TML writes that refugee law affirms that a refugee can "
    "cross a border whether or not it is at an official border crossing."
)
FR = (
    "Selon le bulletin TML, les demandeurs d'asile sont souvent qualifiés d'« illégaux », ce qui, selon "
    "TML, viole la lettre du droit des réfugiés. TML écrit que ce droit affirme qu'un réfugié peut traverser "
    "une frontière, qu'il s'agisse ou non d'un point de passage officiel."
)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """The real registries, seeds and catalogs, and one test passage (written by each test)."""
    knowledge = tmp_path / "knowledge"
    (knowledge / "passages").mkdir(parents=True)
    for name in ("sources.yaml", "topics.yaml", "glossary.yaml", "stopwords.yaml", "triage.yaml"):
        shutil.copy(ROOT / "knowledge" / name, knowledge / name)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    return knowledge


def write(kb: Path, *, as_of: str = "2024-02-28", en: str = EN, fr: str = FR) -> str:
    text = OPINION.format(as_of=as_of, en=en, fr=fr)
    (kb / "passages" / "test.yaml").write_text(text, encoding="utf-8")
    return text


def reported(problems: list[Problem], line: int, phrase: str) -> bool:
    return any(p.line == line and p.file.endswith("test.yaml") and phrase in p.message for p in errors(problems))


def shown(problems: list[Problem]) -> str:
    return "\n".join(map(str, problems)) or "(no problems)"


def test_the_fixed_passage_passes(kb: Path) -> None:
    write(kb)
    assert errors(check(kb)) == [], shown(check(kb))


def test_kb_check_reports_the_old_unattributed_sentence_at_its_line(kb: Path) -> None:
    write(kb, en=OLD_REFUGEE_LAW_EN)
    problems = check(kb)
    assert reported(problems, 12, "an opinion's sentence says no one says so"), shown(problems)


def test_kb_check_reports_a_number_in_another_convention_at_its_line(kb: Path) -> None:
    write(kb, fr=FR + " TML écrit que 29,870 personnes sont mortes.", en=EN + " TML writes that 29,870 people died.")
    problems = check(kb)
    assert reported(problems, 14, "'29,870' groups thousands with a comma"), shown(problems)
    assert not any("29,870" in p.message and p.line == 12 for p in problems)  # English writes it so


@pytest.mark.parametrize(
    ("french", "variant"),
    [
        ("Selon IRCC (Immigration, Refugees and Citizenship Canada), TML écrit cela.", "Immigration, Refugees"),
        ("Selon l'Interim Federal Health Program, TML écrit cela.", "Interim Federal Health Program"),
        ("Selon le Palestinian Youth Movement, TML écrit cela.", "Palestinian Youth Movement"),
        ("Selon la Roundtable for Organizations Serving Refugees and Immigrants, TML écrit cela.", "Roundtable"),
    ],
)
def test_kb_check_reports_a_variant_name_of_a_known_organisation(kb: Path, french: str, variant: str) -> None:
    write(kb, fr=FR + " " + french)
    problems = check(kb)
    assert reported(problems, 14, variant), shown(problems)
    assert any("write " in p.message for p in errors(problems) if variant in p.message)


def test_the_original_name_may_follow_ours_in_parentheses(kb: Path) -> None:
    write(kb, fr=FR + " Le Mouvement de la jeunesse palestinienne (Palestinian Youth Movement) affirme cela.")
    assert errors(check(kb)) == [], shown(check(kb))


def test_kb_check_reports_a_partial_date_a_catalog_cannot_render(kb: Path) -> None:
    po = kb.parent / "locales" / "es" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    month = re.compile(
        r'#, python-brace-format\nmsgctxt "month"\nmsgid "This information is from[^\n]*\nmsgstr "[^\n]*"\n'
    )
    assert len(month.findall(text)) == 1
    po.write_text(month.sub("", text), encoding="utf-8")
    write(kb, as_of="2021-12")
    problems = check(kb)
    assert reported(problems, 5, "as_of 2021-12 is known to the month only"), shown(problems)
    assert any("locales/es/LC_MESSAGES/messages.po cannot render it" in p.message for p in errors(problems))
    po.write_text(text, encoding="utf-8")  # the variant back: nothing to report
    assert errors(check(kb)) == [], shown(check(kb))


def test_kb_check_reports_a_passage_to_show_with_another_that_does_not_exist(kb: Path) -> None:
    write(kb)
    (kb / "read_with.yaml").write_text("test-refugee-law: [no-such-passage]\n", encoding="utf-8")
    problems = check(kb)
    assert any("no such passage 'no-such-passage'" in p.message and p.line == 1 for p in errors(problems))


def test_the_real_glossary_gives_one_official_name_per_language() -> None:
    glossary = {e["id"]: e for e in read_yaml(ROOT / "knowledge" / "glossary.yaml").data}
    assert glossary["ircc"]["names"]["fr"] == "Immigration, Réfugiés et Citoyenneté Canada"
    assert glossary["ifhp"]["names"]["fr"] == "Programme fédéral de santé intérimaire"
    assert glossary["tcri"]["names"]["fr"].startswith("Table de concertation des organismes")


# -- finding 6: what ended is said first, and what it was comes after ------------------------

PATHWAY = [
    "What is the Gaza temporary resident pathway?",
    "Qu’est-ce que la voie d’accès pour résidents temporaires pour Gaza ?",
    "¿Qué es la vía para residentes temporales de Gaza?",
    "ما هو مسار الإقامة المؤقتة لغزة؟",
]
HEALTH = [
    "Does the Interim Federal Health Program cover me?",
    "Le Programme fédéral de santé intérimaire me couvre-t-il ?",
    "¿Me cubre el Programa Federal de Salud Provisional?",
    "هل يغطيني برنامج الصحة الفيدرالي المؤقت؟",
]


@pytest.mark.parametrize("question", PATHWAY + HEALTH)
def test_an_ended_measure_is_said_first_and_what_ended_is_shown(bot: Bot, ask: Ask, question: str) -> None:
    reply = ask(question)
    assert reply.kind == "answer"
    m = bot.catalogs[reply.language]
    expiry = bot.kb.passage("gaza-pathway-expiry-and-cap")
    ids = [c.passage_id for c in reply.citations]
    # The end date before anything else; the passage that says what ended (the Gaza public
    # policy) right after the passage it accompanies, whatever the question matched.
    assert expiry.valid_until is not None
    assert reply.sections[0] == m.measure_ended(expiry.valid_until)
    assert "gaza-pathway-expiry-and-cap" in ids
    first = bot.kb.passage(ids[0])
    if first.id != expiry.id and expiry.id in bot.kb.read_with.get(first.id, ()):
        assert reply.sections[2].startswith(expiry.texts[reply.language])


def test_the_health_answer_says_the_pathway_ended_not_the_program(ask: Ask) -> None:
    reply = ask("Does the Interim Federal Health Program cover me?")
    assert [c.passage_id for c in reply.citations][:2] == [
        "note-interim-federal-health-program-gaza-measures-only",
        "gaza-pathway-expiry-and-cap",
    ]
    assert reply.sections[0] == "This measure ended on January 9, 2025."
    assert "public policy for Gaza expire on January 9, 2025" in reply.sections[2]


@pytest.mark.parametrize(
    ("question", "hint"),
    [
        ("When did Canada lift the visa requirement for Mexicans?", "en"),
        ("Quand le Canada a-t-il levé l'obligation de visa pour les Mexicains ?", "fr"),
        ("¿Cuándo eliminó Canadá la visa para los mexicanos?", "es"),
        ("متى ألغت كندا التأشيرة للمكسيكيين؟", "ar"),
    ],
)
def test_the_2016_lifting_of_mexican_visas_comes_with_its_date_and_the_pressure_to_reimpose(
    bot: Bot, ask: Ask, question: str, hint: str
) -> None:
    reply = ask(question, hint)
    ids = [c.passage_id for c in reply.citations]
    lifted = {
        "ircc-mexico-visa-requirement-lifted-december-2016",
        "ircc-mexico-visitors-spending-since-2016",
        "mexico-claims-rise-low-acceptance-visa-lift-2016",
    }
    assert reply.kind == "answer" and lifted & set(ids), ids
    assert "mexico-says-asylum-claims-dropping-december-2023" in ids  # the pressure to reimpose
    assert "feds-mexico-partial-visa-claims-drop-75-percent" in ids  # the partial visa of February 2024
    m = bot.catalogs[reply.language]
    assert any(s == m.information_from(bot.kb.passage(i).as_of) for i in ids for s in reply.sections)
