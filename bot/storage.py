"""Storage: the one SQLite database, and the only module that touches it.

Owns the schema (sqlite-utils migrations), the connection's safety settings (WAL,
`busy_timeout`, `secure_delete`, immediate write transactions) and every read and write.
What is kept is deliberately little; see the privacy section of the README:

- `users`: per pseudonym, the chosen language, whether the first-contact notice was
  shown, the last day of activity (a day, not a time) and feedback counts. No name,
  username, phone number, Telegram id or message text.
- `events`: keyed hashes of processed update ids / MessageSids, so that nothing is
  answered twice, not even a captured request replayed months later; not linked to any
  user; kept 400 days (see `bot.conversation.EVENT_DAYS`).
- `outbox`: replies accepted but not yet delivered, sealed; deleted once sent. `about`
  holds the pseudonym of the person a message to someone else (the volunteers' room) is
  about, so that their erasure removes it too.
- `unsent_replies`: a reply that leaves in the HTTP response (WhatsApp), sealed, from
  the moment its event is recorded until the response has left, so that a crash in
  between does not lose it; kept two days at most.
- `passage_feedback`: thumbs up and down per passage, with no user.
- `votes`: one row per person and answer voted on, so that a vote counts once: a keyed
  hash of the pseudonym and the answer (which answer cannot be read from it), the
  voter's pseudonym (for erasure) and the day; kept for the retention period.
- `consents`: a question waiting for the person's yes or no to a volunteer, sealed;
  kept one day at most.
- `cases`: volunteer cases. The reply address is sealed and erased when the case
  closes; the case and its sealed `case_messages` are purged after the retention
  period, a case still open once it has been idle that long too; `room_messages` maps
  the volunteers' room's messages to their case (and lets an erasure delete them).
- `audit`: each volunteer action (claim, reply, close): volunteer id, case, time; no text.
- `citations`, `answer_counts`: how often each passage was cited, and answers per
  language and topic; no person, no channel, no text.
- `reply_counts`: replies that were not answers (no answer, handoff, emergency) per
  language and kind; no person, no channel, no text.
- `gaps`: questions the bot could not answer, normalised (numbers and addresses masked),
  counted per language, with the last day asked; no person, no channel; kept 30 days.

May import: the standard library and sqlite-utils.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

DATABASE_FILE = "newcomer-bot.db"
# Another process holding a write lock makes a writer wait this long before failing.
BUSY_TIMEOUT_MS = 5000

migrations = Migrations("newcomer-bot")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("users").create(
        {
            "pseudonym": str,
            "language": str,
            "language_chosen": int,
            "notice_shown": int,
            "last_day": str,
            "helpful": int,
            "unhelpful": int,
        },
        pk="pseudonym",
        not_null={"pseudonym", "language_chosen", "notice_shown", "last_day", "helpful", "unhelpful"},
        defaults={"language_chosen": 0, "notice_shown": 0, "helpful": 0, "unhelpful": 0},
    )
    db.table("users").create_index(["last_day"])
    db.table("events").create({"key": str, "day": str}, pk="key", not_null={"day"})
    db.table("events").create_index(["day"])
    db.table("outbox").create(
        {
            "id": int,
            "channel": str,
            # groups a person's messages so they leave in order; not their pseudonym
            # when the message confirms an erasure
            "thread": str,
            "sealed": bytes,
            "pieces_sent": int,
            "attempts": int,
            "day": str,
        },
        pk="id",
        not_null={"channel", "thread", "sealed", "pieces_sent", "attempts", "day"},
        defaults={"pieces_sent": 0, "attempts": 0},
    )
    db.table("outbox").create_index(["channel", "id"])
    db.table("passage_feedback").create(
        {"passage_id": str, "helpful": int, "unhelpful": int},
        pk="passage_id",
        not_null={"helpful", "unhelpful"},
        defaults={"helpful": 0, "unhelpful": 0},
    )


class Unavailable(RuntimeError):
    """The database cannot be written now (locked past the busy timeout, disk full, ...):
    the caller must not acknowledge the event, so that the platform delivers it again."""


@migrations()
def m002_volunteer_desk(db: Database) -> None:
    db.table("consents").create(
        {"pseudonym": str, "sealed_question": bytes, "at": str}, pk="pseudonym", not_null={"at"}
    )
    db.table("cases").create(
        {
            "id": str,
            "pseudonym": str,
            "channel": str,
            "language": str,
            "sealed_address": bytes,
            "state": str,  # waiting | claimed | closed
            "volunteer_id": int,
            "volunteer_name": str,
            "opened_at": str,
            "claimed_at": str,
            "closed_at": str,
            "last_user_at": str,
            "reminded": int,
            "root_message_id": int,
            "rating": int,
        },
        pk="id",
        not_null={"pseudonym", "channel", "language", "state", "opened_at", "last_user_at", "reminded"},
        defaults={"reminded": 0},
    )
    db.table("cases").create_index(["pseudonym"])
    db.table("cases").create_index(["state"])
    db.table("case_messages").create(
        {"id": int, "case_id": str, "author": str, "sealed": bytes, "at": str, "held": int},
        pk="id",
        not_null={"case_id", "author", "sealed", "at", "held"},
        defaults={"held": 0},
    )
    db.table("case_messages").create_index(["case_id"])
    db.table("room_messages").create({"message_id": int, "case_id": str}, pk="message_id", not_null={"case_id"})
    db.table("room_messages").create_index(["case_id"])
    db.table("audit").create(
        {"id": int, "volunteer_id": int, "action": str, "case_id": str, "at": str},
        pk="id",
        not_null={"volunteer_id", "action", "case_id", "at"},
    )


@migrations()
def m003_gaps(db: Database) -> None:
    db.table("gaps").create(
        {"language": str, "question": str, "count": int, "last_day": str},
        pk=("language", "question"),
        not_null={"language", "question", "count", "last_day"},
    )
    db.table("gaps").create_index(["last_day"])


@migrations()
def m004_usage(db: Database) -> None:
    db.table("citations").create({"passage_id": str, "count": int}, pk="passage_id", not_null={"count"})
    db.table("answer_counts").create(
        {"language": str, "topic": str, "count": int}, pk=("language", "topic"), not_null={"count"}
    )


@migrations()
def m005_unsent_replies(db: Database) -> None:
    # A reply that goes back in the HTTP response (WhatsApp's TwiML), sealed, from the
    # moment its event is recorded until the response has left: a crash in between leaves
    # it here for the platform's retry of the same event. Keyed by the event's keyed hash.
    db.table("unsent_replies").create(
        {"key": str, "thread": str, "sealed": bytes, "day": str}, pk="key", not_null={"thread", "sealed", "day"}
    )
    db.table("unsent_replies").create_index(["thread"])


@migrations()
def m006_reply_counts(db: Database) -> None:
    db.table("reply_counts").create(
        {"language": str, "kind": str, "count": int}, pk=("language", "kind"), not_null={"count"}
    )


@migrations()
def m007_erasure(db: Database) -> None:
    # The person a queued message for someone else is about (a room post of their case).
    db.table("outbox").add_column("about", str)
    db.table("outbox").create_index(["about"])
    db.table("votes").create({"key": str, "voter": str, "day": str}, pk="key", not_null={"voter", "day"})
    db.table("votes").create_index(["voter"])
    db.table("votes").create_index(["day"])


@dataclass(frozen=True)
class Case:
    id: str
    pseudonym: str
    channel: str
    language: str
    sealed_address: bytes | None
    state: str
    volunteer_id: int | None
    volunteer_name: str | None
    opened_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    last_user_at: datetime
    reminded: bool
    root_message_id: int | None
    rating: int | None

    @property
    def open(self) -> bool:
        return self.state != "closed"


_CASE_COLUMNS = (
    "id, pseudonym, channel, language, sealed_address, state, volunteer_id, volunteer_name, opened_at,"
    " claimed_at, closed_at, last_user_at, reminded, root_message_id, rating"
)


def _case(row: tuple[object, ...]) -> Case:
    (
        cid,
        pseudonym,
        channel,
        language,
        sealed,
        state,
        vid,
        vname,
        opened,
        claimed,
        closed,
        last,
        reminded,
        root,
        rating,
    ) = row
    return Case(
        str(cid),
        str(pseudonym),
        str(channel),
        str(language),
        sealed if isinstance(sealed, bytes) else None,
        str(state),
        int(vid) if isinstance(vid, int) else None,
        str(vname) if vname is not None else None,
        datetime.fromisoformat(str(opened)),
        datetime.fromisoformat(str(claimed)) if claimed else None,
        datetime.fromisoformat(str(closed)) if closed else None,
        datetime.fromisoformat(str(last)),
        bool(reminded),
        int(root) if isinstance(root, int) else None,
        int(rating) if isinstance(rating, int) else None,
    )


@dataclass(frozen=True)
class User:
    pseudonym: str
    last_day: date
    language: str | None = None
    language_chosen: bool = False
    notice_shown: bool = False
    helpful: int = 0
    unhelpful: int = 0

    def seen(self, day: date) -> User:
        return replace(self, last_day=day)


@dataclass(frozen=True)
class Queued:
    id: int
    channel: str
    thread: str
    sealed: bytes
    pieces_sent: int
    attempts: int


@dataclass(frozen=True)
class Purged:
    users: int
    events: int
    outbox: int
    cases: int = 0
    # Cases closed here because nobody wrote in them for the retention period.
    idle_cases: tuple[str, ...] = ()


def _private_files(data_dir: Path) -> Path:
    """The database file's path, with the folder (0700 when created here) and the database
    and its WAL and shared-memory files (0600) readable by their owner only: pseudonyms and
    sealed values are no one else's business. Files left readable by an older version are
    tightened."""
    if not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
    database = data_dir / DATABASE_FILE
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (database, data_dir / (DATABASE_FILE + "-wal"), data_dir / (DATABASE_FILE + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
    return database


class Store:
    """The database. One connection, used from one thread at a time (the event loop)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        file = db.conn.execute("PRAGMA database_list").fetchone()[2]
        self.path: Path | None = Path(file) if file else None  # "" for an in-memory database

    @classmethod
    def open(cls, data_dir: Path | None) -> Store:
        """The database in `data_dir`, created or upgraded; in memory when None."""
        if data_dir is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            conn = sqlite3.connect(
                str(_private_files(data_dir)), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Deleted rows are overwritten with zeros, not left in free pages for anyone to read.
        conn.execute("PRAGMA secure_delete = ON")
        db = Database(conn)
        if data_dir is not None:
            # SQLite gives the WAL and shared-memory files the database file's mode (0600).
            db.enable_wal()
            # In WAL mode NORMAL loses nothing when the process is killed; only a power
            # cut can lose the last commits.
            conn.execute("PRAGMA synchronous = NORMAL")
        migrations.apply(db)
        return cls(db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock at once (BEGIN IMMEDIATE), so two
        writers never deadlock upgrading a read lock."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise Unavailable(type(exc).__name__) from exc
        try:
            yield
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise Unavailable(type(exc).__name__) from exc
            raise

    # -- events ------------------------------------------------------------------------

    def first_time(self, event_key: str, day: date) -> bool:
        """Record an event; False when it was already recorded (a redelivery)."""
        cursor = self.db.conn.execute(
            "INSERT OR IGNORE INTO events (key, day) VALUES (?, ?)", (event_key, day.isoformat())
        )
        return cursor.rowcount == 1

    def keep_reply(self, event_key: str, thread: str, sealed: bytes, day: date) -> None:
        """The reply to an event that leaves in the HTTP response, kept until it has left."""
        self.db.conn.execute(
            "INSERT OR REPLACE INTO unsent_replies (key, thread, sealed, day) VALUES (?, ?, ?, ?)",
            (event_key, thread, sealed, day.isoformat()),
        )

    def unsent_reply(self, event_key: str) -> bytes | None:
        row = self.db.conn.execute("SELECT sealed FROM unsent_replies WHERE key = ?", (event_key,)).fetchone()
        return None if row is None else bytes(row[0])

    def reply_sent(self, event_key: str) -> None:
        with self.transaction():
            self.db.conn.execute("DELETE FROM unsent_replies WHERE key = ?", (event_key,))

    # -- users -------------------------------------------------------------------------

    def user(self, pseudonym: str) -> User | None:
        row = self.db.conn.execute(
            "SELECT language, language_chosen, notice_shown, last_day, helpful, unhelpful"
            " FROM users WHERE pseudonym = ?",
            (pseudonym,),
        ).fetchone()
        if row is None:
            return None
        language, chosen, notice, last_day, helpful, unhelpful = row
        return User(pseudonym, date.fromisoformat(last_day), language, bool(chosen), bool(notice), helpful, unhelpful)

    def save_user(self, user: User) -> None:
        self.db.conn.execute(
            "INSERT INTO users (pseudonym, language, language_chosen, notice_shown, last_day, helpful, unhelpful)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (pseudonym) DO UPDATE SET language = excluded.language,"
            " language_chosen = excluded.language_chosen, notice_shown = excluded.notice_shown,"
            " last_day = excluded.last_day, helpful = excluded.helpful, unhelpful = excluded.unhelpful",
            (
                user.pseudonym,
                user.language,
                int(user.language_chosen),
                int(user.notice_shown),
                user.last_day.isoformat(),
                user.helpful,
                user.unhelpful,
            ),
        )

    def forget(self, pseudonym: str) -> list[int]:
        """Erase every row of this person, their cases included, and every queued message
        to them or about them (room posts of their cases); returns the ids of those
        messages (SQLite may give an id again). Call `checkpoint` after the transaction,
        so that the erased values leave the write-ahead log too."""
        conn = self.db.conn
        conn.execute("DELETE FROM users WHERE pseudonym = ?", (pseudonym,))
        queued = conn.execute(
            "DELETE FROM outbox WHERE thread = ? OR about = ? RETURNING id", (pseudonym, pseudonym)
        ).fetchall()
        conn.execute("DELETE FROM unsent_replies WHERE thread = ?", (pseudonym,))
        conn.execute("DELETE FROM consents WHERE pseudonym = ?", (pseudonym,))
        conn.execute("DELETE FROM votes WHERE voter = ?", (pseudonym,))
        cases = [row[0] for row in conn.execute("SELECT id FROM cases WHERE pseudonym = ?", (pseudonym,))]
        self._delete_cases(cases)
        return [int(row[0]) for row in queued]

    def _delete_cases(self, case_ids: list[str]) -> None:
        for case_id in case_ids:
            for table in ("case_messages", "room_messages"):
                self.db.conn.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))
            self.db.conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))

    def room_messages_of(self, pseudonym: str) -> list[int]:
        """The room's message ids of this person's cases (open or closed), oldest first."""
        rows = self.db.conn.execute(
            "SELECT message_id FROM room_messages WHERE case_id IN (SELECT id FROM cases WHERE pseudonym = ?)"
            " ORDER BY message_id",
            (pseudonym,),
        )
        return [int(row[0]) for row in rows]

    def has_cases(self, pseudonym: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM cases WHERE pseudonym = ?", (pseudonym,)).fetchone() is not None

    def checkpoint(self) -> None:
        if self.path is not None:
            self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- feedback ----------------------------------------------------------------------

    def first_vote(self, key: str, voter: str, day: date) -> bool:
        """Record a person's vote on an answer (`key`: a keyed hash of both); False when
        they already voted on it."""
        cursor = self.db.conn.execute(
            "INSERT OR IGNORE INTO votes (key, voter, day) VALUES (?, ?, ?)", (key, voter, day.isoformat())
        )
        return cursor.rowcount == 1

    def count_feedback(self, passage_ids: list[str], helpful: bool) -> None:
        column = "helpful" if helpful else "unhelpful"
        for passage_id in passage_ids:
            self.db.conn.execute(
                f"INSERT INTO passage_feedback (passage_id, {column}) VALUES (?, 1)"
                f" ON CONFLICT (passage_id) DO UPDATE SET {column} = {column} + 1",
                (passage_id,),
            )

    def count_answer(self, language: str, topic: str, passage_ids: list[str]) -> None:
        conn = self.db.conn
        for passage_id in passage_ids:
            conn.execute(
                "INSERT INTO citations (passage_id, count) VALUES (?, 1)"
                " ON CONFLICT (passage_id) DO UPDATE SET count = count + 1",
                (passage_id,),
            )
        conn.execute(
            "INSERT INTO answer_counts (language, topic, count) VALUES (?, ?, 1)"
            " ON CONFLICT (language, topic) DO UPDATE SET count = count + 1",
            (language, topic),
        )

    def count_reply(self, language: str, kind: str) -> None:
        self.db.conn.execute(
            "INSERT INTO reply_counts (language, kind, count) VALUES (?, ?, 1)"
            " ON CONFLICT (language, kind) DO UPDATE SET count = count + 1",
            (language, kind),
        )

    def reply_counts(self) -> dict[tuple[str, str], int]:
        """(language, kind) -> how many replies of that kind (no_answer, handoff, emergency)."""
        rows = self.db.conn.execute("SELECT language, kind, count FROM reply_counts")
        return {(str(a), str(b)): int(c) for a, b, c in rows}

    def citations(self) -> dict[str, int]:
        return {str(p): int(c) for p, c in self.db.conn.execute("SELECT passage_id, count FROM citations")}

    def answer_counts(self) -> list[tuple[str, str, int]]:
        rows = self.db.conn.execute("SELECT language, topic, count FROM answer_counts ORDER BY language, topic")
        return [(str(a), str(b), int(c)) for a, b, c in rows]

    def passage_feedback(self) -> dict[str, tuple[int, int]]:
        rows = self.db.conn.execute("SELECT passage_id, helpful, unhelpful FROM passage_feedback")
        return {pid: (up, down) for pid, up, down in rows}

    # -- outbox ------------------------------------------------------------------------

    def enqueue(self, channel: str, thread: str, sealed: bytes, day: date, about: str = "") -> int:
        cursor = self.db.conn.execute(
            "INSERT INTO outbox (channel, thread, sealed, day, about) VALUES (?, ?, ?, ?, ?)",
            (channel, thread, sealed, day.isoformat(), about or None),
        )
        return int(cursor.lastrowid or 0)

    def pending(self, channel: str, limit: int = 100) -> list[Queued]:
        rows = self.db.conn.execute(
            "SELECT id, channel, thread, sealed, pieces_sent, attempts FROM outbox"
            " WHERE channel = ? ORDER BY id LIMIT ?",
            (channel, limit),
        ).fetchall()
        return [Queued(*row) for row in rows]

    def progress(self, queued_id: int, pieces_sent: int) -> None:
        with self.transaction():
            self.db.conn.execute("UPDATE outbox SET pieces_sent = ? WHERE id = ?", (pieces_sent, queued_id))

    def attempted(self, queued_id: int) -> None:
        with self.transaction():
            self.db.conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (queued_id,))

    def delivered(self, queued_id: int) -> None:
        with self.transaction():
            self.db.conn.execute("DELETE FROM outbox WHERE id = ?", (queued_id,))

    # -- consents and cases ------------------------------------------------------------

    def set_consent(self, pseudonym: str, sealed_question: bytes | None, at: datetime) -> None:
        self.db.conn.execute(
            "INSERT INTO consents (pseudonym, sealed_question, at) VALUES (?, ?, ?) ON CONFLICT (pseudonym)"
            " DO UPDATE SET sealed_question = excluded.sealed_question, at = excluded.at",
            (pseudonym, sealed_question, at.isoformat()),
        )

    def consent(self, pseudonym: str) -> tuple[bytes | None, datetime] | None:
        row = self.db.conn.execute(
            "SELECT sealed_question, at FROM consents WHERE pseudonym = ?", (pseudonym,)
        ).fetchone()
        return None if row is None else (row[0], datetime.fromisoformat(row[1]))

    def clear_consent(self, pseudonym: str) -> None:
        self.db.conn.execute("DELETE FROM consents WHERE pseudonym = ?", (pseudonym,))

    def case_exists(self, case_id: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is not None

    def new_case(self, case: Case) -> None:
        self.db.conn.execute(
            f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES ({', '.join('?' * 15)})",
            (
                case.id,
                case.pseudonym,
                case.channel,
                case.language,
                case.sealed_address,
                case.state,
                case.volunteer_id,
                case.volunteer_name,
                case.opened_at.isoformat(),
                None,
                None,
                case.last_user_at.isoformat(),
                0,
                None,
                None,
            ),
        )

    def case(self, case_id: str) -> Case | None:
        row = self.db.conn.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()
        return None if row is None else _case(row)

    def open_case_of(self, pseudonym: str) -> Case | None:
        row = self.db.conn.execute(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE pseudonym = ? AND state != 'closed' ORDER BY opened_at DESC",
            (pseudonym,),
        ).fetchone()
        return None if row is None else _case(row)

    def last_closed_case_of(self, pseudonym: str) -> Case | None:
        row = self.db.conn.execute(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE pseudonym = ? AND state = 'closed' ORDER BY closed_at DESC",
            (pseudonym,),
        ).fetchone()
        return None if row is None else _case(row)

    def open_cases(self) -> list[Case]:
        rows = self.db.conn.execute(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state != 'closed' ORDER BY opened_at"
        ).fetchall()
        return [_case(r) for r in rows]

    def claim(self, case_id: str, volunteer_id: int, volunteer_name: str, at: datetime) -> bool:
        """Claim a waiting case; False when someone else holds it (or it is closed)."""
        cursor = self.db.conn.execute(
            "UPDATE cases SET state = 'claimed', volunteer_id = ?, volunteer_name = ?, claimed_at = ?"
            " WHERE id = ? AND state = 'waiting'",
            (volunteer_id, volunteer_name, at.isoformat(), case_id),
        )
        return cursor.rowcount == 1

    def close_case(self, case_id: str, at: datetime) -> None:
        """Closed: the reply address is erased at once; the rest waits for the purge."""
        self.db.conn.execute(
            "UPDATE cases SET state = 'closed', closed_at = ?, sealed_address = NULL WHERE id = ?",
            (at.isoformat(), case_id),
        )

    def update_case(self, case_id: str, **values: object) -> None:
        allowed = {"last_user_at", "reminded", "root_message_id", "rating"}
        for column, value in values.items():
            if column not in allowed:
                raise ValueError(column)
            stored = value.isoformat() if isinstance(value, datetime) else value
            self.db.conn.execute(f"UPDATE cases SET {column} = ? WHERE id = ?", (stored, case_id))

    def add_case_message(self, case_id: str, author: str, sealed: bytes, at: datetime, held: bool = False) -> int:
        cursor = self.db.conn.execute(
            "INSERT INTO case_messages (case_id, author, sealed, at, held) VALUES (?, ?, ?, ?, ?)",
            (case_id, author, sealed, at.isoformat(), int(held)),
        )
        return int(cursor.lastrowid or 0)

    def held_messages(self, case_id: str) -> list[tuple[int, bytes]]:
        rows = self.db.conn.execute(
            "SELECT id, sealed FROM case_messages WHERE case_id = ? AND held = 1 ORDER BY id", (case_id,)
        )
        return [(int(i), bytes(b)) for i, b in rows]

    def release_held(self, message_ids: list[int]) -> None:
        for message_id in message_ids:
            self.db.conn.execute("UPDATE case_messages SET held = 0 WHERE id = ?", (message_id,))

    def link_room_message(self, message_id: int, case_id: str) -> None:
        self.db.conn.execute(
            "INSERT OR REPLACE INTO room_messages (message_id, case_id) VALUES (?, ?)", (message_id, case_id)
        )

    def case_of_room_message(self, message_id: int) -> str | None:
        row = self.db.conn.execute("SELECT case_id FROM room_messages WHERE message_id = ?", (message_id,)).fetchone()
        return None if row is None else str(row[0])

    def audit(self, volunteer_id: int, action: str, case_id: str, at: datetime) -> None:
        self.db.conn.execute(
            "INSERT INTO audit (volunteer_id, action, case_id, at) VALUES (?, ?, ?, ?)",
            (volunteer_id, action, case_id, at.isoformat()),
        )

    def audit_trail(self) -> list[tuple[int, str, str, str]]:
        return [
            tuple(r) for r in self.db.conn.execute("SELECT volunteer_id, action, case_id, at FROM audit ORDER BY id")
        ]

    def claim_delays(self, since: datetime) -> list[float]:
        """Seconds from opening to claim, for cases opened since `since`."""
        rows = self.db.conn.execute(
            "SELECT opened_at, claimed_at FROM cases WHERE claimed_at IS NOT NULL AND opened_at >= ?",
            (since.isoformat(),),
        )
        return [(datetime.fromisoformat(c) - datetime.fromisoformat(o)).total_seconds() for o, c in rows]

    # -- gaps --------------------------------------------------------------------------

    def count_gap(self, language: str, question: str, day: date) -> None:
        self.db.conn.execute(
            "INSERT INTO gaps (language, question, count, last_day) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (language, question) DO UPDATE SET count = count + 1, last_day = excluded.last_day",
            (language, question, day.isoformat()),
        )

    def gaps(self, at_least: int) -> list[tuple[str, str, int, str]]:
        """(language, question, count, last day), most asked first within each language."""
        rows = self.db.conn.execute(
            "SELECT language, question, count, last_day FROM gaps WHERE count >= ?"
            " ORDER BY language, count DESC, last_day DESC, question",
            (at_least,),
        )
        return [(str(a), str(b), int(c), str(d)) for a, b, c, d in rows]

    # -- retention ---------------------------------------------------------------------

    def purge(
        self,
        users_before: date,
        events_before: date,
        outbox_before: date,
        cases_before: datetime,
        consents_before: datetime,
        gaps_before: date,
        votes_before: date,
    ) -> Purged:
        """Delete what is older than each limit. A case is purged `cases_before` after it
        closed, or, still open, when nobody (person or volunteer) acted in it since then:
        its sealed address, question and messages go, and `idle_cases` names it for the
        room."""
        with self.transaction():
            conn = self.db.conn
            users = conn.execute("DELETE FROM users WHERE last_day < ?", (users_before.isoformat(),)).rowcount
            events = conn.execute("DELETE FROM events WHERE day < ?", (events_before.isoformat(),)).rowcount
            outbox = conn.execute("DELETE FROM outbox WHERE day < ?", (outbox_before.isoformat(),)).rowcount
            conn.execute("DELETE FROM unsent_replies WHERE day < ?", (outbox_before.isoformat(),))
            conn.execute("DELETE FROM consents WHERE at < ?", (consents_before.isoformat(),))
            conn.execute("DELETE FROM gaps WHERE last_day < ?", (gaps_before.isoformat(),))
            conn.execute("DELETE FROM votes WHERE day < ?", (votes_before.isoformat(),))
            before = cases_before.isoformat()
            old = [
                row[0]
                for row in conn.execute("SELECT id FROM cases WHERE state = 'closed' AND closed_at < ?", (before,))
            ]
            idle = [
                str(row[0])
                for row in conn.execute(
                    # Every message of the case, the question first, is in case_messages;
                    # a claim is the only act that leaves none.
                    "SELECT id FROM cases WHERE state != 'closed' AND coalesce(claimed_at, opened_at) < ?"
                    " AND NOT EXISTS (SELECT 1 FROM case_messages WHERE case_id = cases.id AND at >= ?)"
                    " ORDER BY opened_at",
                    (before, before),
                )
            ]
            self._delete_cases(old + idle)
        self.checkpoint()
        return Purged(users, events, outbox, len(old) + len(idle), tuple(idle))

    def tables(self) -> list[str]:
        """Every table of the schema (not SQLite's or the migrations' own)."""
        rows = self.db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != '_sqlite_migrations' ORDER BY name"
        )
        return [str(row[0]) for row in rows]

    def counts(self) -> dict[str, int]:
        """Row counts of every table, for health checks and tests; no content."""
        conn = self.db.conn
        return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for table in self.tables()}

    def healthy(self) -> bool:
        try:
            return bool(self.db.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self.db.conn.close()
