"""Adding a source (`python -m bot kb add`): register a document and draft its passages.

Owns bringing a new document into the project (a document is copied into `seeds/`; a
service-provider note lives in `knowledge/notes/` and registers itself through its
front matter), adding a document to `knowledge/sources.yaml`, and writing one draft
passage per paragraph to `knowledge/passages/<source id>.yaml`: the paragraph quoted
verbatim, topics and the four languages left to fill, `status: draft`. Drafts never
answer; `kb check` lists what is left before a maintainer marks them vetted.

May import: the standard library, PyYAML, `bot.knowledge`.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from bot.knowledge import (
    ID_PATTERN,
    NOTE_SOURCE_PREFIX,
    SOURCE_KINDS,
    PartialDate,
    normalize_quote,
    read_note,
    read_yaml,
)

# A paragraph shorter than this is a heading, a caption or a credit line, not something
# that answers a question on its own.
MIN_WORDS = 6
_HEADING = re.compile(r"^(#{1,6}\s|[-*_]{3,}\s*$)")


class AddError(Exception):
    """Why a source cannot be added, said for a maintainer; nothing was written."""


@dataclass(frozen=True)
class Added:
    source_id: str
    file: str  # where the document now is, relative to the project
    passages_file: str
    drafts: int
    skipped: int  # paragraphs too short to stand alone
    registered: bool  # a line was added to sources.yaml (a note registers itself)


def paragraphs(text: str) -> tuple[list[str], int]:
    """The paragraphs worth drafting, verbatim, and how many short ones were left out."""
    kept: list[str] = []
    skipped = 0
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = block.strip().split("\n")
        while lines and _HEADING.match(lines[0].strip()):
            lines.pop(0)
        paragraph = "\n".join(lines).strip()
        if len(paragraph.split()) >= MIN_WORDS:
            kept.append(paragraph)
        elif block.strip():
            skipped += 1
    return kept, skipped


def _slug(text: str, words: int = 6) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(parts[:words])


# What YAML cannot hold as it is (non-printable characters, and those it reads as line
# breaks even inside quotes) is written as an escape in a double-quoted string.
_NOT_YAML_TEXT = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def _scalar(value: str) -> str:
    """A YAML scalar that reads back as `value` (JSON strings are YAML)."""
    return _NOT_YAML_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))


def _block(value: str, indent: str = "    ") -> str:
    """A literal block keeps the paragraph's own line breaks, so the quote reads as in
    the source; text YAML cannot hold literally is written as a quoted string."""
    literal = "|-\n" + "\n".join(indent + line if line.strip() else "" for line in value.split("\n"))
    try:
        if yaml.safe_load("k: " + literal) == {"k": value}:
            return literal
    except yaml.YAMLError:
        pass
    return _scalar(value)


def _drafts(source_id: str, as_of: str, blocks: list[str], title: str, today: date) -> str:
    head = (
        f"# Draft passages for {title}, written by `python -m bot kb add` on {today.isoformat()}.\n"
        "# None of them answers yet. For each paragraph worth answering from (delete the\n"
        "# others): set topics, write en, fr, es and ar (faithful to the quote, no added\n"
        "# number, date, address or program), fill vetted_by and vetted_on, and change\n"
        "# status to vetted. Then run `python -m bot kb check`.\n"
    )
    items = []
    for n, block in enumerate(blocks, 1):
        items.append(
            f"- id: {source_id}-{n:02d}\n"
            f"  source: {source_id}\n"
            "  status: draft\n"
            "  topics: []\n"
            f"  as_of: {as_of}\n"
            "  vetted_by:\n"
            "  vetted_on:\n"
            f"  quote: {_block(block)}\n"
            "  en:\n"
            "  fr:\n"
            "  es:\n"
            "  ar:\n"
        )
    return head + "\n" + "\n".join(items)


def _place(path: Path, folder: Path) -> Path:
    """The document's place in the project: where it is if already inside `folder`,
    otherwise a copy there. Never overwrites a different file."""
    resolved = path.resolve()
    if resolved.parent == folder.resolve():
        return resolved
    target = folder / path.name
    if target.exists():
        if target.read_bytes() != path.read_bytes():
            raise AddError(f"{target} already exists with other content; rename the file you add")
        return target
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


def _read(path: Path) -> str:
    if not path.is_file():
        raise AddError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AddError(f"{path}: not UTF-8 text (save it as plain text, UTF-8)") from None
    if not text.strip():
        raise AddError(f"{path}: the file is empty")
    return text


def _is_note(text: str) -> bool:
    return text.lstrip("\ufeff").startswith("---")


def add_source(
    knowledge: Path,
    path: Path,
    *,
    title: str = "",
    publisher: str = "",
    when: str = "",
    kind: str = "news",
    source_id: str = "",
    today: date,
) -> Added:
    """Register `path` and draft its passages; raises AddError before writing anything
    when it cannot."""
    project = knowledge.parent
    text = _read(path)
    sources_file = knowledge / "sources.yaml"
    entries = [raw for raw, _, _ in read_yaml(sources_file).entries() if isinstance(raw, dict)]
    known = {str(raw.get("id")) for raw in entries}
    for raw in entries:
        if (project / str(raw.get("file") or "")).resolve() == path.resolve():
            raise AddError(f"{path} is already registered as source {raw.get('id')!r}")

    is_note = _is_note(text)
    if is_note:
        if not ID_PATTERN.fullmatch(path.stem):
            raise AddError(f"{path.name}: name a note with lowercase letters, digits and dashes, e.g. legal-clinic.md")
        try:
            note = read_note(path)
            written = PartialDate.parse(note.fields.get("written"))
        except (ValueError, yaml.YAMLError) as exc:
            raise AddError(f"{path}: {exc} (see knowledge/notes/_template.md)") from None
        sid = note.source_id
        body = note.body
        title = str(note.fields.get("provider") or path.stem)
        as_of = written.iso()
        folder = knowledge / "notes"
    else:
        missing = [
            name for name, value in (("--title", title), ("--publisher", publisher), ("--date", when)) if not value
        ]
        if missing:
            raise AddError(f"a document needs {', '.join(missing)}")
        try:
            dated = PartialDate.parse(when)
        except ValueError as exc:
            raise AddError(f"--date: {exc}") from None
        if kind not in SOURCE_KINDS:
            raise AddError(f"--kind must be one of {', '.join(SOURCE_KINDS)}")
        sid = source_id or f"{_slug(title)}-{dated.iso()}"
        if not ID_PATTERN.fullmatch(sid) or sid.startswith(NOTE_SOURCE_PREFIX):
            raise AddError(f"source id {sid!r}: use lowercase letters, digits and dashes (not starting with 'note-')")
        body = text
        as_of = dated.iso()
        folder = project / "seeds"
    if sid in known:
        raise AddError(f"a source with id {sid!r} is already registered (give another with --id)")
    passages_file = knowledge / "passages" / f"{sid}.yaml"
    if passages_file.exists():
        raise AddError(f"{passages_file.relative_to(project)} already exists; it may hold a maintainer's work")
    blocks, skipped = paragraphs(body)
    if not blocks:
        raise AddError(f"{path}: no paragraph of {MIN_WORDS} words or more to draft from")
    drafts = _drafts(sid, as_of, blocks, title, today)
    # Every quote must read back as the paragraph it came from, before anything is written.
    parsed = yaml.safe_load(drafts)
    if [normalize_quote(str(d["quote"])) for d in parsed] != [normalize_quote(b) for b in blocks]:
        raise AddError(
            f"{path}: could not write its paragraphs as verbatim quotes; please report this"
        )  # pragma: no cover

    placed = _place(path, folder)
    rel = str(placed.resolve().relative_to(project.resolve()))
    registered = not is_note
    if registered:
        entry = [f"- id: {sid}", f"  file: {rel}", f"  title: {_scalar(title)}", f"  publisher: {_scalar(publisher)}"]
        if dated.precision == "day":
            entry.append(f"  date: {dated.iso()}")
        else:
            date_note = f"Added with kb add on {today.isoformat()}; only the {dated.precision} is known."
            entry += [
                "  date:",
                f"  date_approx: {_scalar(dated.iso())}",
                f"  date_note: {_scalar(date_note)}",
            ]
        entry.append(f"  kind: {kind}")
        existing = sources_file.read_text(encoding="utf-8")
        separator = "" if existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
        sources_file.write_text(existing + separator + "\n".join(entry) + "\n", encoding="utf-8")
    passages_file.parent.mkdir(parents=True, exist_ok=True)
    passages_file.write_text(drafts, encoding="utf-8")
    return Added(sid, rel, str(passages_file.relative_to(project)), len(blocks), skipped, registered)
