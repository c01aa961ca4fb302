"""Holding under attack and after crashes (issue 14, items 3, 7, 8, 9 and 11), against
the real objects and `python -m bot serve` as a real process on loopback:

- files: the data folder 0700 and every file in it 0600 whatever the umask; a pepper file
  others can read is refused with a plain message;
- a WhatsApp reply recorded but never sent (a crash in between) is given to Twilio's
  retry of the same MessageSid;
- a long genuine WhatsApp message gets the "your message is long" reply, not a 413.
"""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn
from starlette.testclient import TestClient

from bot.__main__ import main
from bot.app import build_conversations
from bot.conversation import TELEGRAM, Conversations, Inbound
from bot.core import Bot
from bot.keys import PEPPER_FILE, PepperError, load_keys
from bot.server import WHATSAPP_MAX_BODY, create_app
from bot.storage import DATABASE_FILE, Store
from tests.conftest import TELEGRAM_SECRET, channel_settings, signed_whatsapp, whatsapp_form


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most machines have (022: new files readable by everyone)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- item 7: files readable by their owner only -------------------------------------------


def test_the_data_folder_is_0700_and_every_file_in_it_0600_under_a_loose_umask(
    bot: Bot, tmp_path: Path, loose_umask: None
) -> None:
    data = tmp_path / "var" / "newcomer-bot"
    conversations = build_conversations(channel_settings(data, pepper=""), bot)
    try:
        conversations.receive(Inbound(TELEGRAM, "777001", "1", "What is the IFHP?", "en"), "777001")
        files = sorted(p.name for p in data.iterdir())
        # The database, its write-ahead log and shared memory, and the generated pepper.
        assert files == sorted([DATABASE_FILE, DATABASE_FILE + "-shm", DATABASE_FILE + "-wal", PEPPER_FILE])
        assert mode(data) == 0o700
        assert {name: mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        conversations.store.close()


def test_a_database_left_readable_by_an_older_version_is_made_private_when_opened(
    tmp_path: Path, loose_umask: None
) -> None:
    Store.open(tmp_path).close()
    for name in (DATABASE_FILE, DATABASE_FILE + "-wal", DATABASE_FILE + "-shm"):
        (tmp_path / name).touch()
        os.chmod(tmp_path / name, 0o644)
    store = Store.open(tmp_path)
    store.close()
    assert mode(tmp_path / DATABASE_FILE) == 0o600
    assert all(mode(p) == 0o600 for p in tmp_path.iterdir() if p.name.startswith(DATABASE_FILE))


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604])
def test_a_pepper_file_others_can_read_is_refused(tmp_path: Path, loose: int) -> None:
    pepper = tmp_path / PEPPER_FILE
    pepper.write_text("restored-from-a-backup-0123456789\n")
    os.chmod(pepper, loose)
    with pytest.raises(PepperError, match="chmod 600") as refused:
        load_keys("", tmp_path)
    assert "restored-from" not in str(refused.value)  # the secret is never in the message
    os.chmod(pepper, 0o600)
    assert load_keys("", tmp_path).pepper == b"restored-from-a-backup-0123456789"


def test_serve_with_a_readable_pepper_says_so_and_stops_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / PEPPER_FILE).write_text("a-pepper-beside-the-database-0123456789")
    os.chmod(data / PEPPER_FILE, 0o644)
    monkeypatch.delenv("BOT_PEPPER", raising=False)
    monkeypatch.setenv("BOT_DATA_DIR", str(data))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", never)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the pepper file") and "can be read by others (mode 644)" in err
    assert "BOT_PEPPER" in err and "Traceback" not in err
    assert "a-pepper-beside" not in err


# -- item 11: a long genuine WhatsApp message is read ----------------------------------

LONG_NOTICE = "Your message is long, so I read its beginning. Short questions get the best answers."
# A person's story, pasted whole, with the question at its start: 14,527 Arabic
# characters, 73,562 bytes once form-encoded (each letter is two UTF-8 bytes, six encoded).
ARABIC_STORY = (
    "ما هو برنامج الصحة الفيدرالي المؤقت؟ " + "وصلت إلى كندا مع عائلتي في الشتاء الماضي وننتظر جلسة الاستماع. " * 230
)


@pytest.fixture
def app_client(conversations: Conversations, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(channel_settings(tmp_path), conversations, background=False)
    with TestClient(app) as client:
        yield client


def twiml_messages(twiml: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


def test_a_14000_character_arabic_message_gets_the_long_message_reply_not_413(
    app_client: TestClient, bot: Bot
) -> None:
    form = whatsapp_form("SMlong-story", ARABIC_STORY)
    encoded = len(urlencode(form).encode())
    assert len(ARABIC_STORY) > 14_000 and encoded > 64 * 1024  # over the 64 KB of before
    response = app_client.post("/whatsapp", data=form, headers=signed_whatsapp(form))
    assert response.status_code == 200
    reply = "\n".join(twiml_messages(response.text))
    assert bot.catalogs["ar"]._(LONG_NOTICE) in reply
    assert bot.catalogs["ar"]._(LONG_NOTICE) != LONG_NOTICE  # in Arabic, not in English


def test_a_body_above_the_hard_bound_is_refused_before_it_is_read(
    app_client: TestClient, conversations: Conversations
) -> None:
    form = whatsapp_form("SMabuse", "x" * (WHATSAPP_MAX_BODY + 1))
    assert app_client.post("/whatsapp", data=form, headers=signed_whatsapp(form)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as soon as it passes the bound
        for _ in range(WHATSAPP_MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    assert app_client.post("/whatsapp", content=chunks(), headers={"X-Twilio-Signature": "x"}).status_code == 413
    assert conversations.store.counts()["events"] == 0
    # Telegram's updates keep the small bound: a message there is at most 4,096 characters.
    big = b"{" + b" " * (65 * 1024) + b"}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert app_client.post("/telegram", content=big, headers=headers).status_code == 413
