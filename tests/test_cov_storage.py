"""Storage at its edges: an in-memory database that leaves nothing on disk, transactions
that leave nothing half-written when anything fails inside them, a full disk reported
as `Unavailable` (so the platform delivers again), the columns a case update may touch,
and a database that cannot be used reported as degraded by /healthz."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.app import build_conversations
from bot.conversation import TELEGRAM, WHATSAPP, Conversations, Inbound
from bot.core import Bot
from bot.server import create_app
from bot.storage import DATABASE_FILE, Case, Store, Unavailable, User
from tests.conftest import RecordingRequest, channel_settings

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_an_in_memory_conversation_layer_works_and_leaves_nothing_on_disk(bot: Bot, tmp_path: Path) -> None:
    conv = build_conversations(channel_settings(tmp_path / "data"), bot, in_memory=True)
    try:
        outcome = conv.receive(Inbound(WHATSAPP, "whatsapp:+15145550123", "SM1", "What is the IFHP?"))
        assert outcome.status == "new" and "[1]" in outcome.messages[0].text
        assert conv.store.counts()["users"] == 1
        conv.receive(Inbound(WHATSAPP, "whatsapp:+15145550123", "SM2", "forget"))
        assert conv.store.counts()["users"] == 0
    finally:
        conv.store.close()
    assert not (tmp_path / "data").exists()  # no database, no write-ahead log, no pepper file


def test_a_failure_inside_a_transaction_leaves_nothing_half_written(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="the core failed"), store.transaction():
            store.save_user(User("p" * 64, DAY, "es"))
            store.enqueue(TELEGRAM, "p" * 64, b"sealed reply", DAY)
            raise RuntimeError("the core failed")
        assert store.counts()["users"] == 0 and store.counts()["outbox"] == 0
        assert not store.db.conn.in_transaction
        with store.transaction():  # the connection is usable again
            store.save_user(User("p" * 64, DAY, "es"))
        assert store.user("p" * 64) == User("p" * 64, DAY, "es")
    finally:
        store.close()


def test_a_full_disk_inside_a_transaction_is_unavailable_and_rolled_back(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    conn = store.db.conn
    try:
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        with pytest.raises(Unavailable) as refused, store.transaction():
            assert store.first_time("k" * 32, DAY)
            store.enqueue(WHATSAPP, "thread", b"x" * 20_000, DAY)  # needs pages the disk does not have
        assert "OperationalError" in str(refused.value)
        # The event is not recorded either: the platform's redelivery will be processed.
        assert store.counts()["events"] == 0 and store.counts()["outbox"] == 0
    finally:
        store.close()


def test_a_case_update_touches_only_its_allowed_columns(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        case = Case(
            "A7K2", "p" * 64, TELEGRAM, "en", b"sealed", "waiting", None, None, NOW, None, None, NOW, False, None, None
        )
        store.new_case(case)
        store.update_case("A7K2", rating=1, reminded=1)
        for column, value in (("sealed_address", b"another address"), ("state", "closed"), ("pseudonym", "x")):
            with pytest.raises(ValueError, match=column):
                store.update_case("A7K2", **{column: value})
        kept = store.case("A7K2")
        assert kept is not None and kept.sealed_address == b"sealed" and kept.state == "waiting"
        assert kept.pseudonym == "p" * 64 and kept.rating == 1 and kept.reminded
    finally:
        store.close()


def test_healthz_is_degraded_with_503_when_the_database_cannot_be_used(
    conversations: Conversations, tmp_path: Path
) -> None:
    app = create_app(channel_settings(tmp_path), conversations, telegram_request=RecordingRequest(), background=False)
    with TestClient(app) as client:
        assert client.get("/healthz").json()["database"] == "ok"
        conversations.store.close()  # as when the file or its disk is gone
        response = client.get("/healthz")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "degraded" and report["database"] == "error"
    assert report["knowledge_base"]["passages"] > 100  # the rest of the report still says what runs
    # The fixture closes the store again on teardown: closing twice is harmless.
    assert conversations.store.healthy() is False


def test_the_database_file_is_created_in_the_data_dir_with_its_safety_settings(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "new" / "dir")
    try:
        conn = store.db.conn
        assert store.path == tmp_path / "new" / "dir" / DATABASE_FILE
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    finally:
        store.close()
    memory = Store.open(None)
    try:
        memory.checkpoint()  # nothing to checkpoint, and no error
        assert memory.counts()["users"] == 0
    finally:
        memory.close()


def test_an_in_memory_store_has_no_path() -> None:
    memory = Store.open(None)
    try:
        assert memory.path is None
    finally:
        memory.close()
