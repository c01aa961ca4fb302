"""The terminal channel: `chat` (a conversation), `ask` (one reply), `ask --jsonl`.

Owns turning terminal input into `Incoming` messages and `Reply` values into what a
terminal shows, and the JSON lines contract of `../shared/eval/README.md`: one JSON
object in, one out, in order, flushed per line, stable field names.

In `chat` at a terminal, a paste is one message: lines that arrive together (within
PASTE_GAP of each other, as a paste does and typing never does) are joined, and on a
terminal that marks pastes (bracketed paste: most do), everything between the marks is
one message even when its last line waits for Enter. From a pipe, each line is a
message. Long messages are the core's business: it reads up to its own limit and says
so, as on every channel. Ctrl-D (end of input) and Ctrl-C leave without a traceback.

May import: the standard library and `bot.core`, `bot.i18n`.
"""

from __future__ import annotations

import codecs
import json
import os
import select
import termios
from collections.abc import Iterable, Iterator
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


# Lines of one paste arrive within milliseconds of each other; a person typing takes
# longer than this between pressing Enter and the next line's Enter.
PASTE_GAP = 0.08
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
BRACKETED_PASTE_ON = "\x1b[?2004h"
BRACKETED_PASTE_OFF = "\x1b[?2004l"


def _lines(stdin: TextIO) -> Iterator[str]:
    while line := stdin.readline():
        yield line.rstrip("\n")


def pasted_messages(fd: int, gap: float = PASTE_GAP) -> Iterator[str]:
    """Messages from a terminal's file descriptor: complete lines that arrive within `gap`
    seconds of each other are one message, and so is everything between bracketed-paste
    marks. Ends at end of input (Ctrl-D)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    buffer = ""
    ended = False

    def read() -> bool:
        nonlocal buffer
        chunk = os.read(fd, 65536)
        buffer += decoder.decode(chunk, final=not chunk)
        return bool(chunk)

    while not ended:
        while not ended and ("\n" not in buffer or _paste_open(buffer)):
            ended = not read()
        while not ended and select.select([fd], [], [], gap)[0]:
            ended = not read()
            while not ended and _paste_open(buffer):
                ended = not read()
        if ended:  # end of input: whatever is left is the last message
            message, buffer = buffer.removesuffix("\n"), ""
        else:
            message, _, buffer = buffer.rpartition("\n")
        message = message.replace(PASTE_START, "").replace(PASTE_END, "")
        if message or not ended:
            yield message


def _paste_open(buffer: str) -> bool:
    """A paste has started and its end mark (with the line it ends) has not arrived."""
    start = buffer.rfind(PASTE_START)
    if start < 0:
        return False
    end = buffer.find(PASTE_END, start)
    return end < 0 or "\n" not in buffer[end:]


def run_chat(bot: Bot, stdin: TextIO, out: TextIO, interactive: bool) -> None:
    """The conversation; returns at /quit, at end of input (Ctrl-D) or on Ctrl-C."""
    saved_mode = _echo_marks_raw(stdin.fileno()) if interactive else None
    if interactive:
        out.write(BRACKETED_PASTE_ON)
    try:
        _chat(bot, pasted_messages(stdin.fileno()) if interactive else _lines(stdin), out, interactive)
    except KeyboardInterrupt:
        pass
    finally:
        if interactive:
            out.write(BRACKETED_PASTE_OFF)
        if saved_mode is not None:
            termios.tcsetattr(stdin.fileno(), termios.TCSANOW, saved_mode)
        out.write("\n")
        out.flush()


def _echo_marks_raw(fd: int) -> list[Any] | None:
    """The terminal echoes the paste marks as they are (invisible) rather than as ^[[200~;
    returns the mode to put back."""
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        return None
    mode = list(saved)
    mode[3] &= ~termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    return saved


def _chat(bot: Bot, messages: Iterator[str], out: TextIO, interactive: bool) -> None:
    saved: str | None = None
    out.write(greeting(bot) + "\n\n")
    out.flush()
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        text = next(messages, None)
        if text is None:
            break
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
