"""Keys: the secrets derived from the pepper, and what they protect.

Owns the pepper (from `BOT_PEPPER`, or generated once into the data dir with owner-only
permissions; a pepper file that others may read is refused), pseudonyms (HMAC-SHA256 of
channel and sender id: the same person always gets the same key, and the key cannot be
turned back into a phone number or a Telegram id without the pepper), keys for processed
events, and sealing (Fernet: authenticated encryption) of what must be kept briefly in a
readable form, such as the address of a reply waiting to be delivered.

May import: the standard library and cryptography.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PEPPER_FILE = "pepper"
# Permission bits that let the group or others read, write or enter.
OTHERS = 0o077


class PepperError(ValueError):
    """The pepper file can be read by others than its owner; the message says how to fix it."""


class SealError(ValueError):
    """A sealed value was altered, or sealed with another pepper."""


@dataclass(frozen=True)
class Keys:
    pepper: bytes = field(repr=False)
    _fernet: Fernet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.pepper) < 16:
            raise ValueError("the pepper must be at least 16 bytes")
        # One secret, separate keys: a leak of sealed data says nothing about pseudonyms.
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"newcomer-bot seal").derive(self.pepper)
        object.__setattr__(self, "_fernet", Fernet(base64.urlsafe_b64encode(derived)))

    def pseudonym(self, channel: str, sender: str) -> str:
        return self._mac(b"user", channel, sender)

    def event_key(self, channel: str, event_id: str) -> str:
        # A Twilio MessageSid identifies a message at Twilio; only its keyed hash is kept.
        return self._mac(b"event", channel, event_id)[:32]

    def vote_key(self, pseudonym: str, answer: str) -> str:
        # Which answer a person voted on cannot be read from the key without the pepper.
        return self._mac(b"vote", pseudonym, answer)[:32]

    def seal(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def unseal(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise SealError("sealed value cannot be opened") from exc

    def _mac(self, purpose: bytes, channel: str, value: str) -> str:
        message = purpose + b"\x00" + channel.encode() + b"\x00" + value.encode()
        return hmac.new(self.pepper, message, hashlib.sha256).hexdigest()


def load_keys(pepper: str, data_dir: Path) -> Keys:
    """The configured pepper, else the one generated into `data_dir` on first run."""
    if pepper:
        return Keys(pepper.encode())
    path = data_dir / PEPPER_FILE
    if not path.exists():
        private_dir(data_dir)
        # O_EXCL: two processes starting together cannot each write a different pepper.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
    mode = path.stat().st_mode & 0o777
    if mode & OTHERS:
        # Whoever reads it can turn every pseudonym back into a phone number by trying them all.
        raise PepperError(
            f"the pepper file {path} can be read by others (mode {mode:o}): run `chmod 600 {path}`,"
            " or better, give the pepper in BOT_PEPPER from a secret store and remove the file"
        )
    return Keys(path.read_text().strip().encode())


def private_dir(path: Path) -> None:
    """`path` created, if missing, readable by its owner only (0700) whatever the umask."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
