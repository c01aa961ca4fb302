"""Storage: the one SQLite database, and the only module that touches it.

Owns the schema (sqlite-utils migrations), the connection's safety settings (WAL,
`busy_timeout`, `secure_delete`, immediate write transactions) and every read and write.
What is kept is deliberately little; see the privacy section of the README:

- `users`: per pseudonym, the chosen language, whether the first-contact notice was
  shown, the last day of activity (a day, not a time) and feedback counts. No name,
  username, phone number, Telegram id or message text.
- `events`: keyed hashes of processed update ids / MessageSids, so that nothing is
  answered twice; not linked to any user; kept two days.
- `outbox`: replies accepted but not yet delivered (Telegram), sealed; deleted once sent.
- `passage_feedback`: thumbs up and down per passage, with no user.

May import: the standard library and sqlite-utils.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
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


class Store:
    """The database. One connection, used from one thread at a time (the event loop)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path: Path | None = None if db.memory else Path(db.conn.execute("PRAGMA database_list").fetchone()[2])

    @classmethod
    def open(cls, data_dir: Path | None) -> Store:
        """The database in `data_dir`, created or upgraded; in memory when None."""
        if data_dir is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(data_dir / DATABASE_FILE), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Deleted rows are overwritten with zeros, not left in free pages for anyone to read.
        conn.execute("PRAGMA secure_delete = ON")
        db = Database(conn)
        if data_dir is not None:
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

    def forget(self, pseudonym: str) -> None:
        """Erase every row of this person. Call `checkpoint` after the transaction, so
        that the erased values leave the write-ahead log too."""
        self.db.conn.execute("DELETE FROM users WHERE pseudonym = ?", (pseudonym,))
        self.db.conn.execute("DELETE FROM outbox WHERE thread = ?", (pseudonym,))

    def checkpoint(self) -> None:
        if self.path is not None:
            self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- feedback ----------------------------------------------------------------------

    def count_feedback(self, passage_ids: list[str], helpful: bool) -> None:
        column = "helpful" if helpful else "unhelpful"
        for passage_id in passage_ids:
            self.db.conn.execute(
                f"INSERT INTO passage_feedback (passage_id, {column}) VALUES (?, 1)"
                f" ON CONFLICT (passage_id) DO UPDATE SET {column} = {column} + 1",
                (passage_id,),
            )

    def passage_feedback(self) -> dict[str, tuple[int, int]]:
        rows = self.db.conn.execute("SELECT passage_id, helpful, unhelpful FROM passage_feedback")
        return {pid: (up, down) for pid, up, down in rows}

    # -- outbox ------------------------------------------------------------------------

    def enqueue(self, channel: str, thread: str, sealed: bytes, day: date) -> int:
        cursor = self.db.conn.execute(
            "INSERT INTO outbox (channel, thread, sealed, day) VALUES (?, ?, ?, ?)",
            (channel, thread, sealed, day.isoformat()),
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

    # -- retention ---------------------------------------------------------------------

    def purge(self, users_before: date, events_before: date, outbox_before: date) -> Purged:
        with self.transaction():
            conn = self.db.conn
            users = conn.execute("DELETE FROM users WHERE last_day < ?", (users_before.isoformat(),)).rowcount
            events = conn.execute("DELETE FROM events WHERE day < ?", (events_before.isoformat(),)).rowcount
            outbox = conn.execute("DELETE FROM outbox WHERE day < ?", (outbox_before.isoformat(),)).rowcount
        self.checkpoint()
        return Purged(users, events, outbox)

    def counts(self) -> dict[str, int]:
        """Row counts, for health checks and tests; no content."""
        conn = self.db.conn
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("users", "events", "outbox", "passage_feedback")
        }

    def healthy(self) -> bool:
        try:
            return bool(self.db.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self.db.conn.close()
