"""The terminal channel: `chat` (a conversation), `ask` (one reply), `ask --jsonl`.

Owns turning terminal input into `Incoming` messages and `Reply` values into what a
terminal shows, and the JSON lines contract of `../shared/eval/README.md`: one JSON
object in, one out, in order, flushed per line, stable field names.

May import: the standard library and `bot.core`, `bot.i18n`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from bot.core import Bot, Incoming, Reply
from bot.i18n import LANGUAGE_NAMES, RLM, right_to_left


def for_terminal(reply: Reply) -> str:
    """The reply as a terminal shows it, Arabic lines marked right-to-left."""
    return right_to_left(reply.text, reply.language)


def as_json(reply: Reply, message_id: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "language": reply.language,
        "kind": reply.kind,
        "text": reply.text,
        "citations": [
            {
                "number": c.number,
                "source": c.source_file,
                "source_id": c.source_id,
                "title": c.title,
                "publisher": c.publisher,
                "date": c.date,
                "passage_id": c.passage_id,
                "source_text": c.source_text,
            }
            for c in reply.citations
        ],
    }


def _parse_line(line: str) -> tuple[Any, Incoming | None, str]:
    """(id, message, error): the error says in English what is wrong with the line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"not JSON: {exc.msg}"
    if not isinstance(data, dict):
        return None, None, "not a JSON object"
    text = data.get("text")
    if not isinstance(text, str):
        return data.get("id"), None, 'no "text" string'
    hint = data.get("lang") if isinstance(data.get("lang"), str) else None
    return data.get("id"), Incoming(text, language_hint=hint), ""


def run_jsonl(bot: Bot, lines: Iterable[str], out: TextIO) -> int:
    """Answer each JSON line; a bad line gets an error object in its place, never a stop."""
    count = 0
    for line in lines:
        if not line.strip():
            continue
        message_id, message, error = _parse_line(line)
        if message is None:
            reply = bot.handle(Incoming(""))
            obj = as_json(reply, message_id)
            obj["error"] = error
        else:
            obj = as_json(bot.handle(message), message_id)
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()
        count += 1
    return count


def greeting(bot: Bot) -> str:
    lines = []
    for lang, m in bot.catalogs.items():
        hello = m._("Hello! I answer questions about immigration to Canada from verified sources, in your language.")
        lines.append((RLM if lang == "ar" else "") + hello)
    names = ", ".join(f"{code} = {name}" for code, name in LANGUAGE_NAMES.items())
    lines.append(f"/language [{names}] · /quit")
    return "\n".join(lines)


def run_chat(bot: Bot, stdin: TextIO, out: TextIO, interactive: bool) -> None:
    saved: str | None = None
    out.write(greeting(bot) + "\n\n")
    out.flush()
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        command = text.strip().split()
        if command and command[0] in ("/quit", "/exit"):
            break
        if command and command[0] == "/language":
            if len(command) == 2 and command[1] in LANGUAGE_NAMES:
                saved = command[1]
                out.write(f"{LANGUAGE_NAMES[saved]} ✓\n\n")
            else:
                out.write(" · ".join(f"/language {c}" for c in LANGUAGE_NAMES) + "\n\n")
            out.flush()
            continue
        reply = bot.handle(Incoming(text, saved_language=saved))
        out.write(for_terminal(reply) + "\n\n")
        out.flush()
