"""Resident ID numbers encrypted at rest (PIPL): AES-256-GCM under a key of this purpose only; phones and the
names a nomination proposed likewise (EncryptedPersonalData: the same key, bound to another associated data, so a
value of one kind never decrypts as the other).

RESIDENT_ID_ENCRYPTION_KEY (servicekit.keys: unset, made once in VAR_DIR/keys/resident-id-encryption.key for the
machine's processes; production needs it set). Lose it and the stored numbers are lost; keep it with the database's backups, apart from them.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from .config import REPO_ROOT
from .keys import secret

ENCRYPTED_PREFIX = "v1:"  # AES-256-GCM, then base64url of nonce + ciphertext + tag
_ASSOCIATED = b"upskilling resident ID number"
PERSONAL_DATA = b"upskilling personal data"  # phones, proposed names


class ResidentIdCipher:
    """AES-256-GCM under RESIDENT_ID_ENCRYPTION_KEY (a key of this purpose only), a fresh 96-bit nonce each time.

    Equal numbers encrypt differently: look people up by their keyed pseudonym (servicekit.pseudonym), never
    by the stored value. A value without the prefix is one stored before encryption, returned as it is.
    """

    def __init__(self, secret: bytes):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"resident-id aes-256-gcm").derive(secret)
        self._aead = AESGCM(key)

    def encrypt(self, number: str, associated: bytes = _ASSOCIATED) -> str:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, number.encode(), associated)
        return ENCRYPTED_PREFIX + base64.urlsafe_b64encode(sealed).decode()

    def decrypt(self, stored: str, associated: bytes = _ASSOCIATED) -> str:
        if not stored.startswith(ENCRYPTED_PREFIX):
            return stored
        sealed = base64.urlsafe_b64decode(stored[len(ENCRYPTED_PREFIX) :])
        return self._aead.decrypt(sealed[:12], sealed[12:], associated).decode()


def resident_id_cipher() -> ResidentIdCipher:
    """The cipher of this process: RESIDENT_ID_ENCRYPTION_KEY, or (unset, locally) one made once in VAR_DIR/keys.

    Called for every value read or written (two a row of a list or an export): looked up by the settings as they
    are written, the folder resolved on the filesystem only when they change."""
    var_dir = os.environ.get("VAR_DIR", "").strip()
    relative_to = "" if os.path.isabs(var_dir) else os.getcwd()
    return _cipher(var_dir, relative_to, os.environ.get("RESIDENT_ID_ENCRYPTION_KEY", "").strip())


@lru_cache(maxsize=8)
def _cipher(var_dir: str, relative_to: str, configured: str) -> ResidentIdCipher:
    folder = Path(relative_to, var_dir or REPO_ROOT / "var").resolve()
    return ResidentIdCipher(secret(folder, "RESIDENT_ID_ENCRYPTION_KEY"))


class EncryptedResidentId(TypeDecorator):
    """A column holding resident ID numbers encrypted (ResidentIdCipher); the model reads and writes them clear."""

    impl = String(100)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else resident_id_cipher().encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else resident_id_cipher().decrypt(value)


class EncryptedPersonalData(TypeDecorator):
    """A column holding a phone or a person's name encrypted like resident ID numbers (under the same key, bound to
    PERSONAL_DATA); the model reads and writes it clear. Never searched by its stored value."""

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else resident_id_cipher().encrypt(value, PERSONAL_DATA)

    def process_result_value(self, value, dialect):
        return None if value is None else resident_id_cipher().decrypt(value, PERSONAL_DATA)
