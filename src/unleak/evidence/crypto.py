"""Encryption at rest for captured third-party media: AES-256-GCM with a per-case key.

The key lives in the data folder (`$UNLEAK_HOME/evidence/<case id>/case.key`, mode 0600), never in
the database, so a copied database reveals no captured media. Protected originals are never
captured or copied. A stored file is MAGIC + 12-byte nonce + ciphertext; its name is bound in as
associated data, so files cannot be swapped for one another unnoticed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from unleak import config
from unleak.errors import EvidenceError, VerificationError

MAGIC = b"UNLEAK-AESGCM-1\n"


def case_folder(case_id: int) -> Path:
    return config.private_dir(config.home() / "evidence" / str(case_id))


def case_key(case_id: int) -> bytes:
    """The case's 256-bit key, made on first use."""
    path = case_folder(case_id) / "case.key"
    if not path.exists():
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key.hex().encode() + b"\n")
        finally:
            os.close(fd)
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise EvidenceError(
            f"cannot read the case key {path}: {exc}",
            hint="restore it from a backup; without it the captures cannot be read",
        ) from None
    if len(key) != 32:
        raise EvidenceError(f"the case key {path} is damaged", hint="restore it from a backup")
    return key


def encrypt(case_id: int, name: str, plain: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return MAGIC + nonce + AESGCM(case_key(case_id)).encrypt(nonce, plain, MAGIC + name.encode())


def decrypt(case_id: int, name: str, stored: bytes) -> bytes:
    if not stored.startswith(MAGIC):
        raise EvidenceError(f"{name}: not an unleak encrypted file")
    nonce, body = stored[len(MAGIC) : len(MAGIC) + 12], stored[len(MAGIC) + 12 :]
    try:
        return AESGCM(case_key(case_id)).decrypt(nonce, body, MAGIC + name.encode())
    except InvalidTag:
        raise VerificationError(
            f"{name}: the stored capture was altered or the case key is wrong",
            hint="the evidence log still holds its SHA-256; restore the file from a backup",
        ) from None


def write_encrypted(case_id: int, name: str, plain: bytes) -> Path:
    """Encrypt and store a file in the case folder (written beside, then renamed)."""
    folder = config.private_dir(case_folder(case_id) / "captures")
    return config.write_private(folder / (name + ".enc"), encrypt(case_id, name, plain))


def read_encrypted(case_id: int, name: str) -> bytes:
    path = case_folder(case_id) / "captures" / (name + ".enc")
    try:
        stored = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            f"capture {name} is missing from {path.parent}: {exc.strerror or exc}",
            hint="restore the evidence folder from a backup",
        ) from None
    return decrypt(case_id, name, stored)
