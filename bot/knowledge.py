"""Loading the knowledge base: sources, passages, topics, glossary, stop words, rules.

Owns the data model of `knowledge/` and reading it from YAML, keeping the line each
item starts on so that `kb check` can point at it. It does not judge the data (that is
`kbcheck`) and does not search it (that is `retrieval`).

May import: the standard library, PyYAML, and `bot.normalize`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import yaml

from bot.normalize import LANGUAGES

try:  # libyaml is several times faster; both give the same data and marks.
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc]
    """Safe loading, with dates left as text: `kb check` validates them and says where,
    instead of YAML failing on 2024-13-45 with no line."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in _Base.yaml_implicit_resolvers.items()
    }


PASSAGE_FIELDS = frozenset(
    {
        "id",
        "source",
        "topics",
        "as_of",
        "valid_until",
        "review_by",
        "vetted_by",
        "vetted_on",
        "quote",
        "status",
        "stance",
        *LANGUAGES,
    }
)
SOURCE_FIELDS = frozenset(
    {"id", "file", "title", "publisher", "date", "date_note", "date_approx", "kind", "note", "provider", "url"}
)
SOURCE_KINDS = ("news", "government", "advocacy", "service-provider")
# A service-provider note's front matter: every field must say something, if only that
# the sources do not tell (so that nobody fills a gap with a guess).
NOTE_FIELDS = (
    "provider",
    "offers",
    "for_whom",
    "languages",
    "how_to_reach",
    "hours",
    "area",
    "written",
    "review_by",
    "author",
)
NOTE_OPTIONAL_FIELDS = ("drawn_from",)
NOTE_SOURCE_PREFIX = "note-"
# Passage ids, source ids and note file names: lowercase letters, digits and dashes.
ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
STANCES = ("fact", "opinion")
# Questions each passage is known to be asked as, by passage id and language.
ASKED_AS = "asked_as.yaml"
READ_WITH = "read_with.yaml"


Day = date  # `Source.date` shadows the type inside that class


@dataclass(frozen=True)
class PartialDate:
    """A date known to the day, the month or only the year."""

    first_day: date
    precision: str  # "day" | "month" | "year"

    @classmethod
    def parse(cls, value: object) -> PartialDate:
        if isinstance(value, date):
            return cls(value, "day")
        text = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return cls(date.fromisoformat(text), "day")
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return cls(date(int(text[:4]), int(text[5:7]), 1), "month")
        if re.fullmatch(r"\d{4}", text):
            return cls(date(int(text), 1, 1), "year")
        raise ValueError(f"not a date (YYYY-MM-DD, YYYY-MM or YYYY): {text!r}")

    def iso(self) -> str:
        return {
            "day": self.first_day.isoformat(),
            "month": self.first_day.isoformat()[:7],
            "year": self.first_day.isoformat()[:4],
        }[self.precision]


@dataclass(frozen=True)
class Source:
    id: str
    file: str
    title: str
    publisher: str
    kind: str
    date: PartialDate | None
    date_note: str = ""
    line: int = 0
    # Set for a service-provider note, cited as "Note about <provider>, <date>": maintainers
    # write notes, so "from <provider>" would name the wrong author.
    provider: str = ""
    review_by: Day | None = None


@dataclass(frozen=True)
class Note:
    """A service-provider note: front matter (the fields of NOTE_FIELDS) and a body."""

    path: Path
    fields: dict[str, Any]
    field_lines: dict[str, int]
    body: str
    body_line: int  # the line the body starts on

    @property
    def source_id(self) -> str:
        return NOTE_SOURCE_PREFIX + self.path.stem


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    topics: tuple[str, ...]
    as_of: PartialDate
    quote: str
    texts: dict[str, str]
    vetted_by: str
    vetted_on: date | None
    valid_until: date | None = None
    review_by: date | None = None
    status: str = "vetted"
    file: str = ""
    line: int = 0
    # "opinion": what the passage tells is someone's view, demand or judgement (attributed);
    # "fact": a reported fact, a rule, a figure, a program. Facts come first in a reply.
    stance: str = "fact"

    @property
    def usable(self) -> bool:
        """Only vetted passages answer; drafts wait for a maintainer."""
        return self.status == "vetted"

    def review_date(self) -> date:
        """When a maintainer must look again: given, or one year after `as_of`."""
        if self.review_by is not None:
            return self.review_by
        d = self.as_of.first_day
        try:
            return d.replace(year=d.year + 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year + 1, day=28)


@dataclass(frozen=True)
class Topic:
    id: str
    offer: bool
    labels: dict[str, str]


@dataclass(frozen=True)
class GlossaryEntry:
    """One concept named in the four languages. `weak` concepts (places, the country)
    do not on their own show that a passage answers a question."""

    id: str
    terms: dict[str, tuple[str, ...]]
    weak: bool = False
    numbers: bool = False  # its words ask for a figure ("how many")


@dataclass(frozen=True)
class KnowledgeBase:
    root: Path
    sources: dict[str, Source]
    passages: tuple[Passage, ...]
    topics: dict[str, Topic]
    glossary: tuple[GlossaryEntry, ...]
    stopwords: dict[str, frozenset[str]]
    triage: dict[str, Any]
    thresholds: dict[str, float]
    version: str
    source_texts: dict[str, str] = field(default_factory=dict, repr=False)
    # passage id -> language -> questions it answers, as people ask them (asked_as.yaml)
    asked_as: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict, repr=False)
    # greeting / help / volunteer -> language -> phrases (meta.yaml)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    # passage id -> passages a reply shows right after it (read_with.yaml)
    read_with: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @property
    def usable_passages(self) -> tuple[Passage, ...]:
        return tuple(p for p in self.passages if p.usable)

    def passage(self, passage_id: str) -> Passage:
        for p in self.passages:
            if p.id == passage_id:
                return p
        raise KeyError(passage_id)


@dataclass(frozen=True)
class Located:
    """A YAML value with the line each list item (and each of its keys) starts on."""

    data: Any
    item_lines: list[int]
    key_lines: list[dict[str, int]]

    def entries(self) -> list[tuple[Any, int, dict[str, int]]]:
        """Each item of a list document with its line and its keys' lines."""
        if not isinstance(self.data, list):
            return []
        return list(zip(self.data, self.item_lines, self.key_lines, strict=True))


def _parse(text: str) -> tuple[Any, Any]:
    """The document's data and its root node, whose marks say where each item starts."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def read_yaml(path: Path) -> Located:
    """Parse YAML keeping line numbers (1-based) of top-level list items and their keys."""
    data, node = _parse(path.read_text(encoding="utf-8"))
    item_lines: list[int] = []
    key_lines: list[dict[str, int]] = []
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            item_lines.append(item.start_mark.line + 1)
            keys: dict[str, int] = {}
            if isinstance(item, yaml.MappingNode):
                for k, v in item.value:
                    keys[str(k.value)] = v.start_mark.line + 1
            key_lines.append(keys)
    return Located(data, item_lines, key_lines)


def passage_files(root: Path) -> list[Path]:
    return sorted((root / "passages").glob("*.yaml"))


def note_files(root: Path) -> list[Path]:
    """The notes under `notes/`; a name starting with `_` (the template) is not a note."""
    return sorted(p for p in (root / "notes").glob("*.md") if not p.name.startswith("_"))


_FENCE = "---"


def read_note(path: Path) -> Note:
    """Split a note into its front matter and body; raises ValueError or yaml.YAMLError."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _FENCE:
        raise ValueError("a note starts with a line '---', then its front matter, then '---'")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == _FENCE)
    except StopIteration:
        raise ValueError("the front matter is not closed by a line '---'") from None
    data, node = _parse("".join(lines[1:end]))
    if not isinstance(data, dict):
        raise ValueError("the front matter must be 'field: value' lines")
    field_lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            field_lines[str(k.value)] = v.start_mark.line + 2  # +1 for 1-based, +1 for the fence
    return Note(path, {str(k): v for k, v in data.items()}, field_lines, "".join(lines[end + 1 :]), end + 2)


def note_source(note: Note, project: Path) -> Source:
    fields = note.fields
    return Source(
        id=note.source_id,
        file=str(note.path.relative_to(project)),
        title=str(fields["provider"]).strip(),
        publisher=str(fields["author"]).strip(),
        kind="service-provider",
        date=PartialDate.parse(fields["written"]),
        line=1,
        provider=str(fields["provider"]).strip(),
        review_by=_date_or_none(fields.get("review_by")),
    )


def _date_or_none(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def build_source(raw: dict[str, Any], line: int) -> Source:
    when = raw.get("date") or raw.get("date_approx")
    return Source(
        id=str(raw["id"]),
        file=str(raw["file"]),
        title=str(raw["title"]),
        publisher=str(raw["publisher"]),
        kind=str(raw["kind"]),
        date=PartialDate.parse(when) if when else None,
        date_note=str(raw.get("date_note") or "").strip(),
        line=line,
    )


def build_passage(raw: dict[str, Any], file: str, line: int) -> Passage:
    return Passage(
        id=str(raw["id"]),
        source=str(raw["source"]),
        topics=tuple(str(t) for t in raw.get("topics") or ()),
        as_of=PartialDate.parse(raw["as_of"]),
        quote=str(raw["quote"]),
        texts={lang: str(raw.get(lang) or "").strip() for lang in LANGUAGES},
        vetted_by=str(raw.get("vetted_by") or ""),
        vetted_on=_date_or_none(raw.get("vetted_on")),
        valid_until=_date_or_none(raw.get("valid_until")),
        review_by=_date_or_none(raw.get("review_by")),
        status=str(raw.get("status") or "vetted"),
        file=file,
        line=line,
        stance=str(raw.get("stance") or "fact"),
    )


def fingerprint(root: Path) -> str:
    """A short hash of every knowledge file and source: the knowledge base version."""
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".md", ".txt"))
    for p in files:
        digest.update(str(p.relative_to(root)).encode())
        digest.update(p.read_bytes())
    return digest.hexdigest()[:12]


def load(root: Path) -> KnowledgeBase:
    """Load a knowledge base that `kbcheck.check` has passed; raises on malformed data."""
    project = root.parent
    src = read_yaml(root / "sources.yaml")
    sources = {s.id: s for s in (build_source(r, ln) for r, ln, _ in src.entries())}
    note_bodies: dict[str, str] = {}
    for path in note_files(root):
        note = read_note(path)
        sources[note.source_id] = note_source(note, project)
        note_bodies[note.source_id] = note.body
    passages: list[Passage] = []
    for path in passage_files(root):
        located = read_yaml(path)
        rel = str(path.relative_to(project))
        passages.extend(build_passage(r, rel, ln) for r, ln, _ in located.entries())
    topics = {
        str(t["id"]): Topic(str(t["id"]), bool(t.get("offer")), {lang: str(t[lang]) for lang in LANGUAGES})
        for t in read_yaml(root / "topics.yaml").data or []
    }
    glossary = tuple(
        GlossaryEntry(
            id=str(g["id"]),
            terms={lang: tuple(str(x) for x in (g.get(lang) or ())) for lang in LANGUAGES},
            weak=bool(g.get("weak")),
            numbers=bool(g.get("numbers")),
        )
        for g in read_yaml(root / "glossary.yaml").data or []
    )
    stop_raw = read_yaml(root / "stopwords.yaml").data or {}
    stopwords = {lang: frozenset(str(stop_raw.get(lang, "")).split()) for lang in LANGUAGES}
    triage = read_yaml(root / "triage.yaml").data or {}
    retrieval_file = root / "retrieval.yaml"
    thresholds = (
        {k: float(v) for k, v in ((read_yaml(retrieval_file).data or {}).get("thresholds") or {}).items()}
        if retrieval_file.exists()
        else {}
    )
    asked_file = root / ASKED_AS
    asked_raw = (read_yaml(asked_file).data or {}) if asked_file.exists() else {}
    asked_as = {
        str(pid): {lang: tuple(str(q) for q in (per.get(lang) or ())) for lang in LANGUAGES}
        for pid, per in asked_raw.items()
        if isinstance(per, dict)
    }
    read_file = root / READ_WITH
    read_raw = (read_yaml(read_file).data or {}) if read_file.exists() else {}
    read_with = {str(pid): tuple(str(c) for c in companions or ()) for pid, companions in read_raw.items()}
    source_texts = {
        s.id: note_bodies.get(s.id) or (project / s.file).read_text(encoding="utf-8")
        for s in sources.values()
        if (project / s.file).exists()
    }
    return KnowledgeBase(
        root=root,
        sources=sources,
        passages=tuple(passages),
        topics=topics,
        glossary=glossary,
        stopwords=stopwords,
        triage=triage,
        thresholds=thresholds,
        version=fingerprint(root),
        source_texts=source_texts,
        asked_as=asked_as,
        meta=(read_yaml(root / "meta.yaml").data or {}) if (root / "meta.yaml").exists() else {},
        read_with=read_with,
    )


_ESCAPE = re.compile(r"\\([^\w\s])")
_SPACE = re.compile(r"\s+")


def normalize_quote(text: str) -> str:
    """How a quote is compared with its source: Markdown escapes and whitespace folded."""
    return _SPACE.sub(" ", _ESCAPE.sub(r"\1", text)).strip()
