"""The pepper and what it protects: generated once with owner-only permissions and reused,
never replaced by a second process starting at the same time, too short a pepper refused,
and sealed values that cannot be opened with another pepper or after tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.keys import PEPPER_FILE, Keys, SealError, load_keys

ANOTHER_PEPPER = b"another-deployment-pepper-0123456789"


def test_the_pepper_file_is_created_with_mode_600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"  # created on first run
    first = load_keys("", data_dir)
    path = data_dir / PEPPER_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64  # 32 random bytes, hex
    again = load_keys("", data_dir)
    assert again.pepper == first.pepper
    assert again.pseudonym("telegram", "42") == first.pseudonym("telegram", "42")
    assert again.unseal(first.seal(b"reply address")) == b"reply address"


def test_two_data_dirs_get_different_peppers(tmp_path: Path) -> None:
    one, two = load_keys("", tmp_path / "a"), load_keys("", tmp_path / "b")
    assert one.pepper != two.pepper
    assert one.pseudonym("whatsapp", "+15145550123") != two.pseudonym("whatsapp", "+15145550123")


def test_a_configured_pepper_wins_and_no_pepper_file_is_written(tmp_path: Path) -> None:
    keys = load_keys("configured-pepper-0123456789", tmp_path)
    assert keys.pepper == b"configured-pepper-0123456789"
    assert not (tmp_path / PEPPER_FILE).exists()


def test_an_existing_pepper_file_is_read_without_its_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / PEPPER_FILE).write_text("restored-from-backup-0123456789\n")
    os.chmod(tmp_path / PEPPER_FILE, 0o600)  # a backup restored for its owner only
    assert load_keys("", tmp_path).pepper == b"restored-from-backup-0123456789"


def test_a_second_process_creating_the_pepper_at_the_same_time_does_not_get_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other process writes the file between this one's check and its create (the
    operating system's edge is simulated): this process must use the other's pepper, or
    the two would give everyone two pseudonyms."""
    real_open = os.open
    winner = "pepper-written-by-the-other-process-0123"

    def other_process_wins(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if Path(path).name == PEPPER_FILE and flags & os.O_EXCL:
            fd = real_open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, winner.encode())
            os.close(fd)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", other_process_wins)
    keys = load_keys("", tmp_path)
    assert keys.pepper == winner.encode()
    assert (tmp_path / PEPPER_FILE).read_text() == winner


def test_a_pepper_shorter_than_16_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Keys(b"short-pepper")
    with pytest.raises(ValueError, match="16 bytes"):
        load_keys("short", Path("/nonexistent"))
    assert Keys(b"x" * 16).pseudonym("telegram", "1")  # exactly 16 is enough


def test_a_value_sealed_under_another_pepper_cannot_be_opened() -> None:
    ours, theirs = Keys(b"our-deployment-pepper-0123456789"), Keys(ANOTHER_PEPPER)
    sealed = theirs.seal(b"whatsapp:+15145550123")
    with pytest.raises(SealError):
        ours.unseal(sealed)


def test_a_tampered_sealed_value_cannot_be_opened_and_the_error_shows_nothing_of_it() -> None:
    keys = Keys(ANOTHER_PEPPER)
    sealed = bytearray(keys.seal(b"whatsapp:+15145550123"))
    sealed[-5] ^= 1
    with pytest.raises(SealError) as refused:
        keys.unseal(bytes(sealed))
    assert "5145550123" not in str(refused.value)
    assert isinstance(refused.value, ValueError)  # callers that catch ValueError also catch it


def test_sealing_is_not_deterministic_and_hides_the_value() -> None:
    keys = Keys(ANOTHER_PEPPER)
    one, two = keys.seal(b"777001"), keys.seal(b"777001")
    assert one != two and b"777001" not in one
    assert keys.unseal(one) == keys.unseal(two) == b"777001"


def test_event_keys_are_short_and_not_the_pseudonym_of_the_same_value() -> None:
    keys = Keys(ANOTHER_PEPPER)
    event = keys.event_key("whatsapp", "SM0123")
    assert len(event) == 32 and "SM0123" not in event
    assert not keys.pseudonym("whatsapp", "SM0123").startswith(event)
    assert keys.event_key("telegram", "SM0123") != event
    assert "pepper" not in repr(keys)


def test_pseudonyms_and_event_keys_are_the_documented_hmac_so_they_survive_an_upgrade() -> None:
    """HMAC-SHA256 under the pepper of purpose, channel and id, joined by NUL bytes: if a
    release computed them differently, everyone's rows would be orphaned under their old
    pseudonym (and /forget would no longer find them)."""
    pepper = b"a-pepper-kept-in-a-backup-0123"
    keys = Keys(pepper)

    def mac(*parts: bytes) -> str:
        return hmac.new(pepper, b"\x00".join(parts), hashlib.sha256).hexdigest()

    assert keys.pseudonym("telegram", "777001") == mac(b"user", b"telegram", b"777001")
    assert keys.pseudonym("whatsapp", "whatsapp:+1") == mac(b"user", b"whatsapp", b"whatsapp:+1")
    sid = "SM0123456789abcdef0123456789abcdef"
    assert keys.event_key("whatsapp", sid) == mac(b"event", b"whatsapp", sid.encode())[:32]
    # The separator keeps the parts apart: ("ab", "c") is not ("a", "bc").
    assert keys.pseudonym("ab", "c") != keys.pseudonym("a", "bc")


def test_a_value_sealed_by_an_earlier_release_still_opens() -> None:
    """A reply queued before an upgrade is delivered after it: the sealing key is derived
    from the pepper (HKDF-SHA256, 32 bytes, the same label) exactly as before. The token
    below was sealed by the release this test was written in."""
    keys = Keys(b"a-pepper-kept-in-a-backup-0123")
    sealed = (
        b"gAAAAABrFvF_oTVb8QTzejfEVMls3RqPy8HWFElkibmsm8bEFAM4SG4_3skKt6ohU13F9t7wSWvB7SiNgYfV28G3jhUiIp6"
        b"HOnvOk9awgtKUzegV8KM_9BI="
    )
    assert keys.unseal(sealed) == b'{"address": "777001"}'
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"newcomer-bot seal").derive(keys.pepper)
    assert Fernet(base64.urlsafe_b64encode(derived)).decrypt(keys.seal(b"777001")) == b"777001"
