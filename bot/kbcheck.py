"""`kb check`: every rule the knowledge base must keep, with `file:line: message`.

Owns validation only: unknown source or topic, duplicate id, a quote not found
verbatim in its source, a missing language, a bad date, an empty field, an unknown
field, a number in a translation that the English text does not have (or in the English
text that the source does not have), triage patterns that do not compile; and the
translators' conventions (knowledge/README.md): a number written in another language's
convention, a variant name for an organisation or program the glossary names, an
opinion's sentence without an attribution, a date known to the month or year that a
catalog has no sentence for, a passage to show with another that does not exist.
Drafts are reported as notes: they are not errors, and never answer.

May import: the standard library, PyYAML, Babel (to read the catalogs), `bot.i18n` (the
dated sentences), `bot.knowledge`, `bot.normalize`, `bot.rule_safety`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po

from bot import rule_safety
from bot.i18n import DATED_MESSAGES
from bot.knowledge import (
    ASKED_AS,
    ID_PATTERN,
    NOTE_FIELDS,
    NOTE_OPTIONAL_FIELDS,
    NOTE_SOURCE_PREFIX,
    PASSAGE_FIELDS,
    READ_WITH,
    SOURCE_FIELDS,
    SOURCE_KINDS,
    STANCES,
    PartialDate,
    normalize_quote,
    note_files,
    passage_files,
    read_note,
    read_yaml,
)
from bot.normalize import LANGUAGES, fold, fold_pattern


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    severity: str = "error"  # "error" | "note"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def numbers(text: str) -> set[str]:
    """The numbers a text states, in one spelling whatever the language's grouping."""
    return {n.lstrip("0") or "0" for n in _NUMBER.findall(fold(text))}


@functools.lru_cache(maxsize=64)
def _source_numbers(text: str) -> frozenset[str]:
    return frozenset(numbers(text))


class _Report:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.problems: list[Problem] = []

    def add(self, path: Path, line: int, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(str(path.relative_to(self.project)), line, message, severity))


def _load(report: _Report, path: Path) -> Any:
    try:
        return read_yaml(path)
    except FileNotFoundError:
        report.add(path, 0, "file is missing")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.add(path, (mark.line + 1) if mark else 0, f"not valid YAML: {getattr(exc, 'problem', exc)}")
    return None


def _check_date(report: _Report, path: Path, line: int, name: str, value: Any, partial: bool = False) -> Any:
    try:
        if partial:
            return PartialDate.parse(value)
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value))
    except (ValueError, TypeError):
        report.add(path, line, f"{name}: bad date {value!r}")
        return None


def check(root: Path) -> list[Problem]:
    """All problems of the knowledge base under `root` (the `knowledge/` folder)."""
    project = root.parent
    report = _Report(project)

    sources_path = root / "sources.yaml"
    source_text: dict[str, str] = {}
    located = sources_located = _load(report, sources_path)
    seen: dict[str, int] = {}
    for raw, line, keys in located.entries() if located else ():
        if not isinstance(raw, dict):
            report.add(sources_path, line, "a source must be a mapping")
            continue
        for key in raw:
            if key not in SOURCE_FIELDS:
                report.add(sources_path, keys.get(key, line), f"unknown field {key!r}")
        for key in ("id", "file", "title", "publisher", "kind"):
            if not str(raw.get(key) or "").strip():
                report.add(sources_path, keys.get(key, line), f"{key}: empty or missing")
        sid = str(raw.get("id") or "")
        if sid in seen:
            report.add(sources_path, line, f"duplicate source id {sid!r} (first on line {seen[sid]})")
        seen[sid] = line
        if raw.get("kind") and raw["kind"] not in SOURCE_KINDS:
            report.add(
                sources_path, keys.get("kind", line), f"kind: {raw['kind']!r} is not one of {', '.join(SOURCE_KINDS)}"
            )
        if raw.get("date"):
            _check_date(report, sources_path, keys.get("date", line), "date", raw["date"])
        elif raw.get("date_approx"):
            _check_date(
                report, sources_path, keys.get("date_approx", line), "date_approx", raw["date_approx"], partial=True
            )
            if not raw.get("date_note"):
                report.add(sources_path, line, "a source without an exact date needs a date_note saying what is known")
        else:
            report.add(sources_path, line, "date: missing (give date, or date_approx with a date_note)")
        file = project / str(raw.get("file") or "")
        if raw.get("file"):
            if not file.is_file():
                report.add(sources_path, keys.get("file", line), f"file: {raw['file']} does not exist")
            else:
                source_text[sid] = normalize_quote(file.read_text(encoding="utf-8"))

    notes = note_files(root)
    for path in notes:
        _check_note(report, path, source_text)

    topics_path = root / "topics.yaml"
    topic_ids: set[str] = set()
    located = _load(report, topics_path)
    for raw, line, _ in located.entries() if located else ():
        tid = str(raw.get("id") or "")
        if not tid:
            report.add(topics_path, line, "id: empty or missing")
        if tid in topic_ids:
            report.add(topics_path, line, f"duplicate topic id {tid!r}")
        topic_ids.add(tid)
        for lang in LANGUAGES:
            if not str(raw.get(lang) or "").strip():
                report.add(topics_path, line, f"{lang}: missing label for topic {tid!r}")

    glossary_path = root / "glossary.yaml"
    located = _load(report, glossary_path)
    glossary_ids: set[str] = set()
    names: dict[str, list[tuple[re.Pattern[str], str, str]]] = {lang: [] for lang in LANGUAGES}
    for raw, line, _ in located.entries() if located else ():
        _read_names(report, glossary_path, line, raw, names)
        gid = str(raw.get("id") or "")
        if not gid or gid in glossary_ids:
            report.add(glossary_path, line, f"glossary id {gid!r} is empty or repeated")
        glossary_ids.add(gid)
        for lang in LANGUAGES:
            terms = raw.get(lang)
            if not isinstance(terms, list) or not all(str(t).strip() for t in terms) or not terms:
                report.add(glossary_path, line, f"{lang}: needs a list of at least one term for {gid!r}")

    _check_triage(report, root / "triage.yaml")
    _check_stopwords(report, root / "stopwords.yaml")

    passage_ids: dict[str, str] = {}
    quoted: set[str] = set()
    # precision -> where a date known only to that precision is first used
    partial: dict[str, tuple[Path, int, str, str]] = {}
    for path in passage_files(root):
        located = _load(report, path)
        if located is None:
            continue
        if not isinstance(located.data, list):
            report.add(path, 1, "a passages file holds a list of passages")
            continue
        for raw, line, keys in located.entries():
            _check_passage(report, path, line, keys, raw, source_text, topic_ids, passage_ids, names)
            if isinstance(raw, dict):
                quoted.add(str(raw.get("source") or ""))
                _note_partial(partial, path, keys.get("as_of", line), f"{raw.get('id')}: as_of", raw.get("as_of"))
    for path in notes:
        if NOTE_SOURCE_PREFIX + path.stem not in quoted:
            report.add(
                path,
                1,
                f"no passage quotes this note yet: run `python -m bot kb add {path.relative_to(project)}`",
                "note",
            )
    for raw, line, keys in sources_located.entries() if sources_located else ():
        if isinstance(raw, dict) and not raw.get("date"):
            _note_partial(partial, sources_path, keys.get("date_approx", line), "date_approx", raw.get("date_approx"))
    _check_dates_rendered(report, project / "locales", partial)
    _check_asked_as(report, root / ASKED_AS, passage_ids)
    _check_read_with(report, root / READ_WITH, passage_ids)
    return report.problems


def _by_passage(report: _Report, path: Path, shape: str) -> list[tuple[str, Any, int]]:
    """The entries of a file keyed by passage id (`asked_as.yaml`, `read_with.yaml`), each
    with its key's line; none when the file is absent, unreadable or not a mapping (said
    as `shape`)."""
    if not path.exists():
        return []
    located = _load(report, path)
    if located is None:
        return []
    data = located.data or {}
    if not isinstance(data, dict):
        report.add(path, 1, shape)
        return []
    keys: dict[str, int] = {}
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text[:1] not in ("", " ", "#", "-") and ":" in text:
            keys.setdefault(text.split(":", 1)[0], n)
    return [(str(pid), value, keys.get(str(pid), 1)) for pid, value in data.items()]


def _check_asked_as(report: _Report, path: Path, passage_ids: dict[str, str]) -> None:
    """Each taught question belongs to a passage that exists, under one of our languages."""
    for pid, per_lang, line in _by_passage(
        report, path, "asked_as holds passage ids, each with questions per language"
    ):
        if pid not in passage_ids:
            report.add(path, line, f"{pid}: no such passage")
            continue
        if not isinstance(per_lang, dict) or set(per_lang) - set(LANGUAGES):
            report.add(path, line, f"{pid}: questions go under {', '.join(LANGUAGES)}")
            continue
        for lang, questions in per_lang.items():
            if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
                report.add(path, line, f"{pid}.{lang}: a list of questions, none empty")


def _note_partial(partial: dict[str, tuple[Path, int, str, str]], path: Path, line: int, what: str, value: Any) -> None:
    try:
        when = PartialDate.parse(value)
    except ValueError:
        return  # reported as a bad date where it is written
    if when.precision != "day":
        partial.setdefault(when.precision, (path, line, what, when.iso()))


def _check_dates_rendered(report: _Report, locales: Path, partial: dict[str, tuple[Path, int, str, str]]) -> None:
    """A date known only to the month or the year is shown in sentences that each catalog
    must have a variant for (msgctxt "month" or "year"): "date de décembre 2021", not
    "date du décembre 2021"."""
    if not locales.is_dir():
        return
    for lang in LANGUAGES:
        po = locales / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for precision, (path, line, what, iso) in sorted(partial.items()):
            for message in DATED_MESSAGES:
                entry = catalog.get(message, context=precision)
                if entry is None or not entry.string or entry.fuzzy:
                    report.add(
                        path,
                        line,
                        f"{what} {iso} is known to the {precision} only, and {po.relative_to(locales.parent)} "
                        f"cannot render it: no {precision!r} variant (msgctxt) of {message!r}",
                    )


def _read_names(
    report: _Report, path: Path, line: int, raw: Any, names: dict[str, list[tuple[re.Pattern[str], str, str]]]
) -> None:
    """A glossary entry's one name per language and the variants passages must not use."""
    if not isinstance(raw, dict) or ("names" not in raw and "variants" not in raw):
        return
    gid = str(raw.get("id") or "")
    official = raw.get("names")
    variants = raw.get("variants") or {}
    if not isinstance(official, dict) or any(not str(official.get(lang) or "").strip() for lang in LANGUAGES):
        report.add(path, line, f"{gid}: names: one name for each of {', '.join(LANGUAGES)}")
        return
    if not isinstance(variants, dict) or set(variants) - set(LANGUAGES):
        report.add(path, line, f"{gid}: variants: lists of names under {', '.join(LANGUAGES)}")
        return
    for lang, listed in variants.items():
        for variant in listed or ():
            if str(variant).lower() == str(official[lang]).lower():
                report.add(path, line, f"{gid}: variants.{lang}: {variant!r} is the name itself")
                continue
            pattern = re.compile(rf"(?<!\w){re.escape(str(variant))}(?!\w)", re.I)
            names[lang].append((pattern, str(official[lang]), gid))


def _check_read_with(report: _Report, path: Path, passage_ids: dict[str, str]) -> None:
    """Each passage and each of its companions exists; a companion is not the passage."""
    for pid, companions, line in _by_passage(
        report, path, "read_with holds passage ids, each with a list of passage ids"
    ):
        if pid not in passage_ids:
            report.add(path, line, f"{pid}: no such passage")
        if not isinstance(companions, list) or not companions:
            report.add(path, line, f"{pid}: a list of passage ids to show with it")
            continue
        for cid in companions:
            if str(cid) not in passage_ids:
                report.add(path, line, f"{pid}: no such passage {cid!r} to show with it")
            elif str(cid) == pid:
                report.add(path, line, f"{pid}: a passage is not shown with itself")


def _check_note(report: _Report, path: Path, source_text: dict[str, str]) -> None:
    try:
        note = read_note(path)
    except UnicodeDecodeError:  # a ValueError too: caught first, for a plainer message
        report.add(path, 1, "not UTF-8 text")
        return
    except (ValueError, yaml.YAMLError) as exc:
        report.add(path, 1, f"not a note: {exc}")
        return
    at = note.field_lines.get
    if not ID_PATTERN.fullmatch(path.stem):
        report.add(path, 1, f"file name {path.name!r}: use lowercase letters, digits and dashes")
    if note.source_id in source_text:
        report.add(path, 1, f"source id {note.source_id!r} is already used in sources.yaml")
    for key in note.fields:
        if key not in NOTE_FIELDS and key not in NOTE_OPTIONAL_FIELDS:
            report.add(path, at(key, 1), f"unknown field {key!r}")
    for key in NOTE_FIELDS:
        if not str(note.fields.get(key) or "").strip():
            report.add(
                path,
                at(key, 1),
                f"{key}: empty or missing (when the sources do not say, write so, for example "
                "'not stated in our sources; check with the organisation')",
            )
    dates = {
        key: _check_date(report, path, at(key, 1), key, note.fields[key])
        for key in ("written", "review_by")
        if note.fields.get(key)
    }
    written, review_by = dates.get("written"), dates.get("review_by")
    if written and review_by and review_by <= written:
        report.add(path, at("review_by", 1), "review_by must be after written")
    drawn_from = note.fields.get("drawn_from") or []
    for sid in drawn_from if isinstance(drawn_from, list) else [drawn_from]:
        if str(sid) not in source_text:
            report.add(path, at("drawn_from", 1), f"drawn_from: unknown source {sid!r}")
    if not note.body.strip():
        report.add(path, note.body_line, "the note has no text after its front matter")
    source_text[note.source_id] = normalize_quote(note.body)


# One way to write numbers per language (knowledge/README.md, "Numbers"). Years, phone
# numbers (9-8-8, 1-800-…), section numbers and dates are written with no separator or
# with hyphens, and pass. The `quote` field keeps its source's own figures.
#   en, ar: 29,870 and 2.4 (Arabic with the digits 0-9, as the dates Babel writes)
#   fr, es: 29 870 with a no-break space (U+00A0, so that no line breaks a number) and
#           2,4; French groups four digits (1 000), Spanish does not (1000), as the RAE says
_SPACE_GROUP = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,])")
_PLAIN_SPACE_GROUP = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d.,])")
_COMMA_GROUP = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,]|\.\d)")
_DOT_GROUP = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?![\d.]|,\d)")
_DOT_DECIMAL = re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d.])")
_COMMA_DECIMAL = re.compile(r"(?<![\d.,])\d+,\d{1,2}(?![\d,])")
_LONG = re.compile(r"(?<![\d.,\u00a0\u202f-])\d{5,}(?!\d)")
_LINE_BREAKS = re.compile(r"[ \t\n]+")
_ARABIC_DIGITS = re.compile(r"[\u0660-\u0669\u06f0-\u06f9]")
_SECTION = re.compile(
    r"(?:section|sections|article|articles|artículo|artículos|sección|paragraph|paragraphe|párrafo|المادة|البند|s\.)\s*$",
    re.I,
)
NUMBER_RULES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "en": (
        (_SPACE_GROUP, "groups thousands with a space: English writes 29,870"),
        (_DOT_GROUP, "groups thousands with a dot: English writes 29,870"),
        (_COMMA_DECIMAL, "has a decimal comma: English writes 2.4"),
        (_LONG, "has five digits or more ungrouped: English writes 29,870"),
    ),
    "fr": (
        (_PLAIN_SPACE_GROUP, "groups thousands with a plain space: French writes a no-break space (U+00A0)"),
        (_COMMA_GROUP, "groups thousands with a comma: French writes 29 870 (no-break space)"),
        (_DOT_GROUP, "groups thousands with a dot: French writes 29 870 (no-break space)"),
        (_DOT_DECIMAL, "has a decimal point: French writes 2,4"),
        (_LONG, "has five digits or more ungrouped: French writes 29 870"),
    ),
    "es": (
        (_PLAIN_SPACE_GROUP, "groups thousands with a plain space: Spanish writes a no-break space (U+00A0)"),
        (_COMMA_GROUP, "groups thousands with a comma: Spanish writes 29 870 (no-break space)"),
        (_DOT_GROUP, "groups thousands with a dot: Spanish writes 29 870 (no-break space)"),
        (_DOT_DECIMAL, "has a decimal point: Spanish writes 2,4"),
        (_LONG, "has five digits or more ungrouped: Spanish writes 29 870"),
    ),
    "ar": (
        (_ARABIC_DIGITS, "uses Arabic-Indic digits: our Arabic writes 0-9, as its dates"),
        (_SPACE_GROUP, "groups thousands with a space: our Arabic writes 29,870"),
        (_DOT_GROUP, "groups thousands with a dot: our Arabic writes 29,870"),
        (_COMMA_DECIMAL, "has a decimal comma: our Arabic writes 2.4"),
        (_LONG, "has five digits or more ungrouped: our Arabic writes 29,870"),
    ),
}


def number_convention_problems(text: str, language: str) -> list[str]:
    """Each number in `text` written in another convention than `language`'s, with why."""
    found: list[str] = []
    for pattern, why in NUMBER_RULES[language]:
        for m in pattern.finditer(text):
            if _SECTION.search(text[: m.start()]):
                continue  # a section or article number ("section 25.2")
            found.append(f"{m.group()!r} {why}")
    return found


# An opinion passage (`stance: opinion`) keeps its attribution in every sentence: each
# sentence names who says so with one of these phrases. After a colon, a statement needs
# its own (the audit's "...the letter of refugee law: refugee law affirms that..."
# read as the bot speaking); a list (items separated by ";") or a quotation after a
# colon continues the sentence's attribution, and a sentence that is wholly a quotation
# is attributed by its quotation marks.
_VERB_EN = (
    r"say|says|said|write|writes|wrote|add|adds|added|state|states|stated|stating|report|reports|reported|"
    r"argue|argues|argued|claim|claims|claimed|demand|demands|demanded|ask|asks|asked|believe|believes|told|"
    r"describe|describes|described|note|notes|noted|explain|explains|explained|warn|warns|warned|consider|"
    r"considers|insist|insists|insisted|declare|declares|declared|remarked|answered|conclude|concludes|"
    r"concluded|deplore|deplores|deplored|cite|cites|cited|mention|mentions|mentioned|request|requests|"
    r"requested|call on|calls on|called on|call for|calls for|called for|criticize|criticizes|criticized|"
    r"asserted|asserts|assert|attributed|attributes|denounce|denounces|denounced|view|views|viewed|affirmed|"
    r"maintains|maintained|urged|urges|recalled|recalls"
)
_VERB_FR = (
    r"selon|revendications|revendique|revendiquent|attribué|attribue|notait|note|noté|fait part|conclu|"
    r"termine ainsi|d'après|dit|disent|écrit|écrivent|ajoute|ajoutent|ajouté|affirme|affirment|affirmé|"
    r"déclare|"
    r"déclarent|déclaré|rapporte|rapportent|rapporté|estime|estiment|estimé|exige|exigent|exigé|demande|"
    r"demandent|demandé|réclame|réclament|réclamé|soutient|soutiennent|souligne|soulignent|souligné|"
    r"explique|expliquent|expliqué|indique|indiquent|indiqué|qualifie|qualifient|qualifié|considère|"
    r"considèrent|juge|jugent|dénonce|dénoncent|dénoncé|décrit|décrivent|déplore|déplorent|déploré|"
    r"insiste|insisté|cite|citent|cité|répond|répondu|conclut|concluent|avertit|appelle|appellent|appelé|"
    r"prévient|mentionne|mentionné|rappelle|rappelé|critique|critiqué|pour lui|pour elle|pour eux|"
    r"à son avis|à leur avis|a-t-il|a-t-elle|ont-ils|selon lui|selon elle"
)
_VERB_ES = (
    r"según|demandas|reclamos|atribuyó|atribuye|diciendo|concluyó|notaba|dice|dicen|dijo|dijeron|escribe|"
    r"escriben|escribió|escribieron|añade|añaden|añadió|afirma|"
    r"afirman|afirmó|declara|declaran|declaró|informa|informan|informó|sostiene|sostienen|sostuvo|exige|"
    r"exigen|exigió|pide|piden|pidió|pidieron|reclama|reclaman|reclamó|subraya|subrayó|explica|explicó|"
    r"señala|señalan|señaló|considera|consideran|consideró|denuncia|denuncian|denunció|describe|describen|"
    r"describió|lamenta|lamentó|insiste|insistió|cita|citó|menciona|mencionó|responde|respondió|concluye|"
    r"concluyó|advierte|advirtió|llama|llamó|califica|calificó|opina|indica|indicó|recuerda|recordó|critica|"
    r"criticó|en su opinión|a su juicio|para él|para ella|para ellos"
)
_VERB_AR = (
    r"وفق|مطالب|بالقول|خلص|عزا|يعزو|تعزو|حسب|بحسب|يقول|تقول|يقولون|قال|قالت|قالوا|يكتب|تكتب|كتب|كتبت|يضيف|"
    r"تضيف|أضاف|أضافت|يؤكد|تؤكد|"
    r"أكد|أكدت|يرى|ترى|يرون|رأى|رأت|يطالب|تطالب|طالب|طالبت|يطلب|تطلب|طلب|طلبت|يعتبر|تعتبر|اعتبر|اعتبرت|"
    r"يصف|تصف|وصف|وصفت|أوضح|أوضحت|يوضح|توضح|أشار|أشارت|يشير|تشير|أفاد|أفادت|يفيد|تفيد|صرح|صرّح|صرّحت|"
    r"أجاب|أجابت|يدعو|تدعو|دعا|دعت|يحذر|تحذر|حذر|حذّر|تختتم|يختتم|في رأي|من وجهة نظر|تزعم|يزعم|يدين|"
    r"تدين|ذكر|ذكرت|يذكر|تذكر|أبدى|أبدت|تستشهد|يستشهد|في تقديره|في اعتقاده|انتقد|انتقدت|ينتقد|تنتقد|"
    r"أعلن|أعلنت|شدد|شددت|يشدد|تشدد"
)
ATTRIBUTION = {
    "en": re.compile(rf"\baccording to\b|\bin (?:his|her|its|their) (?:view|words)\b|\b(?:{_VERB_EN})\b", re.I),
    "fr": re.compile(rf"(?<!\w)(?:{_VERB_FR})(?!\w)", re.I),
    "es": re.compile(rf"(?<!\w)(?:{_VERB_ES})(?!\w)", re.I),
    # Arabic joins the conjunctions و and ف to the verb ("وتضيف"): a prefix is allowed.
    "ar": re.compile(rf"(?<![^\sو،«(ف])(?:{_VERB_AR})"),
}
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\b(?:Mr|Ms|No|Dr|St|Mt))[.!?](?=\s+[«\"“'A-ZÀ-ÝÉ¿¡\u0600-\u06ff(])")
_QUOTED = re.compile(r"^[«\"“]")


def opinion_sentences(text: str) -> list[str]:
    """The parts of an opinion's text that must each carry an attribution."""
    parts: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        sentence = sentence.strip()
        if len(sentence) < 4 or _QUOTED.match(sentence):
            continue
        head, colon, tail = sentence.partition(": ")
        parts.append(head if colon else sentence)
        tail = tail.strip()
        if colon and not (";" in tail or "؛" in tail or _QUOTED.match(tail)):
            parts.append(tail)
    return parts


def unattributed(text: str, language: str) -> list[str]:
    """The sentences of an opinion's `language` text that name no one who says so."""
    return [s for s in opinion_sentences(text) if not ATTRIBUTION[language].search(s)]


def _check_passage(
    report: _Report,
    path: Path,
    line: int,
    keys: dict[str, int],
    raw: Any,
    source_text: dict[str, str],
    topic_ids: set[str],
    passage_ids: dict[str, str],
    names: dict[str, list[tuple[re.Pattern[str], str, str]]] | None = None,
) -> None:
    if not isinstance(raw, dict):
        report.add(path, line, "a passage must be a mapping")
        return
    at = keys.get
    pid = str(raw.get("id") or "")
    for key in raw:
        if key not in PASSAGE_FIELDS:
            report.add(path, at(key, line), f"{pid}: unknown field {key!r}")
    if not pid:
        report.add(path, line, "id: empty or missing")
    elif not ID_PATTERN.fullmatch(pid):
        report.add(path, line, f"id {pid!r}: use lowercase letters, digits and dashes")
    if pid in passage_ids:
        report.add(path, line, f"duplicate passage id {pid!r} (also in {passage_ids[pid]})")
    passage_ids[pid] = str(path.relative_to(report.project))
    status = str(raw.get("status") or "vetted")
    draft = status == "draft"
    if status not in ("vetted", "draft"):
        report.add(path, at("status", line), f"{pid}: status must be vetted or draft, not {status!r}")
    stance = str(raw.get("stance") or "fact")
    if stance not in STANCES:
        report.add(path, at("stance", line), f"{pid}: stance must be one of {', '.join(STANCES)}, not {stance!r}")
    if draft:
        report.add(path, line, f"{pid}: draft, not used to answer until translated and marked vetted", "note")

    required = ["source", "as_of", "quote"] + ([] if draft else ["topics", "vetted_by", "vetted_on"])
    if draft and not raw.get("topics"):
        report.add(path, at("topics", line), f"{pid}: topics to choose (ids from topics.yaml)", "note")
    for key in required:
        value = raw.get(key)
        if (
            value is None
            or (isinstance(value, (str, list)) and not value)
            or (isinstance(value, str) and not value.strip())
        ):
            report.add(path, at(key, line), f"{pid}: {key}: empty or missing")
    for lang in LANGUAGES:
        if not str(raw.get(lang) or "").strip():
            if draft:
                report.add(
                    path, at(lang, line), f"{pid}: {lang}: {'text' if lang == 'en' else 'translation'} to fill", "note"
                )
            else:
                report.add(path, at(lang, line), f"{pid}: {lang}: missing language")

    source = str(raw.get("source") or "")
    if source and source not in source_text:
        report.add(path, at("source", line), f"{pid}: unknown source {source!r}")
    quote = str(raw.get("quote") or "")
    if quote.strip() and source in source_text and normalize_quote(quote) not in source_text[source]:
        report.add(
            path,
            at("quote", line),
            f"{pid}: quote not found verbatim in source {source!r}: if its file changed, quote the new "
            "words and check that the four texts still say the same",
        )

    for topic in raw.get("topics") or []:
        if topic not in topic_ids:
            report.add(path, at("topics", line), f"{pid}: unknown topic {topic!r}")

    as_of = (
        _check_date(report, path, at("as_of", line), f"{pid}: as_of", raw["as_of"], partial=True)
        if raw.get("as_of")
        else None
    )
    for key in ("valid_until", "review_by", "vetted_on"):
        if raw.get(key):
            value = _check_date(report, path, at(key, line), f"{pid}: {key}", raw[key])
            if key == "valid_until" and value and as_of and value < as_of.first_day:
                report.add(path, at(key, line), f"{pid}: valid_until is before as_of")

    for lang in LANGUAGES:
        # Folded on spaces and line breaks only: a no-break space is part of a number.
        for problem in number_convention_problems(_LINE_BREAKS.sub(" ", str(raw.get(lang) or "")), lang):
            report.add(path, at(lang, line), f"{pid}: {lang}: {problem}")
    for lang in LANGUAGES:
        text = _LINE_BREAKS.sub(" ", str(raw.get(lang) or ""))
        for variant, name, gid in (names or {}).get(lang, ()):
            for m in variant.finditer(text):
                if text[: m.start()].lower().endswith(f"{name} (".lower()) and text[m.end() :].startswith(")"):
                    continue  # the original name, in parentheses after ours
                report.add(
                    path, at(lang, line), f"{pid}: {lang}: {m.group()!r} names {gid} another way: write {name!r}"
                )
    if stance == "opinion":
        for lang in LANGUAGES:
            for sentence in unattributed(str(raw.get(lang) or ""), lang):
                report.add(
                    path,
                    at(lang, line),
                    f"{pid}: {lang}: an opinion's sentence says no one says so (an attribution phrase "
                    f"of knowledge/README.md): {sentence[:80]!r}",
                )

    # No added facts: a number in a translation must be in the English text, and a
    # number in the English text must be in the source it quotes.
    english = str(raw.get("en") or "")
    en_numbers = numbers(english)
    if english and source in source_text:
        extra = en_numbers - _source_numbers(source_text[source])
        if extra:
            report.add(path, at("en", line), f"{pid}: en states {', '.join(sorted(extra))}, which the source does not")
    for lang in ("fr", "es", "ar"):
        text = str(raw.get(lang) or "")
        if text and english:
            extra = numbers(text) - en_numbers
            missing = en_numbers - numbers(text)
            if extra:
                report.add(path, at(lang, line), f"{pid}: {lang} states {', '.join(sorted(extra))}, which en does not")
            if missing:
                report.add(
                    path, at(lang, line), f"{pid}: {lang} leaves out {', '.join(sorted(missing))}, which en states"
                )


def _check_triage(report: _Report, path: Path) -> None:
    located = _load(report, path)
    if located is None:
        return
    data = located.data or {}
    for group in ("emergency", "legal"):
        if not isinstance(data.get(group), dict):
            report.add(path, 1, f"{group}: missing section")
            continue
        for name, per_lang in data[group].items():
            if isinstance(per_lang, dict):
                _check_patterns(report, path, f"{group}.{name}", per_lang)
    elsewhere = data.get("elsewhere")
    if elsewhere is None:
        return
    if not isinstance(elsewhere, dict):
        report.add(path, 1, "elsewhere: must have categories, markers and unless")
        return
    known = set(data.get("emergency") or {})
    for category in elsewhere.get("categories") or ():
        if category not in known:
            report.add(path, 1, f"elsewhere.categories: {category!r} is not an emergency category")
    for part in ("markers", "unless"):
        per_lang = elsewhere.get(part)
        if not isinstance(per_lang, dict):
            report.add(path, 1, f"elsewhere.{part}: missing")
            continue
        _check_patterns(report, path, f"elsewhere.{part}", per_lang)


def _check_patterns(report: _Report, path: Path, label: str, per_lang: dict[str, Any]) -> None:
    for lang in LANGUAGES:
        patterns = per_lang.get(lang)
        if not patterns:
            report.add(path, 1, f"{label}: no patterns for {lang}")
            continue
        for pattern in patterns:
            try:
                re.compile(fold_pattern(str(pattern)))  # as triage will run it
            except re.error as exc:
                report.add(path, 1, f"{label}.{lang}: pattern {pattern!r} does not compile: {exc}")
                continue
            # A rule runs on every message: one that can backtrack catastrophically would
            # let one short message hold the bot for everyone.
            for problem in rule_safety.problems(str(pattern)):
                report.add(path, _line_of(path, str(pattern)), f"{label}.{lang}: pattern {pattern!r}: {problem}")


def _line_of(path: Path, pattern: str) -> int:
    """The line where a rule is written (its first 40 characters found as written, or
    with YAML's doubled quotes); 1 when it cannot be found."""
    head = pattern[:40]
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if head in line or head.replace("'", "''") in line:
            return number
    return 1


def _check_stopwords(report: _Report, path: Path) -> None:
    located = _load(report, path)
    if located is None:
        return
    for lang in LANGUAGES:
        if not str((located.data or {}).get(lang) or "").split():
            report.add(path, 1, f"{lang}: no stop words")


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
