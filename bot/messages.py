"""Messages: the values that travel between channels, the conversation layer and the
volunteer desk, the channels' names, and `info`, the bot's own message in a language.
No behaviour beyond that and (de)serialising for the outbox.

May import: the standard library and `bot.i18n`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import Messages, right_to_left

TELEGRAM = "telegram"
WHATSAPP = "whatsapp"


@dataclass(frozen=True)
class Inbound:
    """One event from a platform. `sender` is the platform's id for the person (a chat
    id, a phone number): it is turned into a pseudonym at once and never stored.
    `action` is set by a button press (`lang:fr`, `feedback:+:…`, `claim:A7K2`).
    `room` marks a message from the volunteers' room; `reply_to` is the room message
    a volunteer replied to; `sender_name` is a volunteer's display name (never read
    for the people the bot serves)."""

    channel: str
    sender: str
    event_id: str
    text: str = ""
    language_hint: str | None = None
    action: str = ""
    non_text: bool = False
    room: bool = False
    reply_to: int | None = None
    sender_name: str = ""


@dataclass(frozen=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True)
class Outbound:
    """A message to send: plain text (channels escape it), in `language`, with rows of
    buttons for channels that have them. In the volunteers' room, `case` links the sent
    message to a case (so replies to it reach the person), `root` marks the case's first
    message, and `reply_to` threads it under that message. `template` asks WhatsApp for
    the approved template instead of free text (outside the 24-hour window). `delete` asks
    the channel to delete these of its own earlier messages in the volunteers' room (an
    erasure) instead of sending text."""

    text: str
    language: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: str = "info"  # a Reply's kind, or "info" for the bot's own messages
    case: str = ""
    root: bool = False
    reply_to: int | None = None
    template: bool = False
    delete: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "language": self.language,
            "kind": self.kind,
            "buttons": [[[b.label, b.action] for b in row] for row in self.buttons],
            "case": self.case,
            "root": self.root,
            "reply_to": self.reply_to,
            "template": self.template,
            "delete": list(self.delete),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Outbound:
        rows = data.get("buttons") or []
        assert isinstance(rows, list)
        reply_to = data.get("reply_to")
        delete = data.get("delete") or []
        assert isinstance(delete, list)
        return cls(
            str(data["text"]),
            str(data["language"]),
            tuple(tuple(Button(str(label), str(action)) for label, action in row) for row in rows),
            str(data.get("kind") or "info"),
            str(data.get("case") or ""),
            bool(data.get("root")),
            reply_to if isinstance(reply_to, int) else None,
            bool(data.get("template")),
            tuple(int(i) for i in delete),
        )


@dataclass(frozen=True)
class Send:
    """A message for someone other than the sender of the event being processed: the
    volunteers' room, or a person a volunteer answers. `thread` orders messages to the
    same place (a pseudonym, or "room"). `about` is the pseudonym of the person a message
    to someone else is about (a room post of their case), so that their erasure reaches it
    while it waits in the outbox; empty for messages about no one."""

    channel: str
    address: str
    thread: str
    message: Outbound
    about: str = ""


def info(m: Messages, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> Outbound:
    """One of the bot's own messages (not an answer), in `m`'s language, laid out for it."""
    return Outbound(right_to_left(text, m.language), m.language, buttons)
