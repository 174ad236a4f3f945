"""Secrets that let a person or a program in: passwords and API keys, kept only as argon2 hashes.

`unleak serve`'s API keys and `unleak app`'s accounts both go through here, so one rule holds for
every secret unleak stores: it is shown once, stored as an argon2id hash, and compared in constant
time. A token is `<prefix>_<id>_<secret>`: the id finds the stored row without a scan, the secret
is what the hash protects.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import InvalidInput

# argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB, t=3, p=4):
# about 0.2 s a hash here, which is the point for passwords; callers that verify a token on every
# request keep the result of a successful check in memory rather than lowering the cost.
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10


def hash_secret(secret: str) -> str:
    """The argon2id hash to store for `secret` (a password or a token's secret part)."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    """Whether `secret` is the one `stored_hash` was made from; False for a malformed hash."""
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash on the next login)."""
    return _hasher.check_needs_rehash(stored_hash)


def check_password(password: str) -> None:
    """Refuse a password too short to resist guessing (`InvalidInput`)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password is too short ({len(password)} characters)",
            f"use at least {MIN_PASSWORD_LENGTH}; a few unrelated words make a good one",
        )


def new_token(prefix: str, row_id: int) -> tuple[str, str]:
    """A new token for row `row_id` and the secret part to hash: `(token, secret)`.

    The token is shown to its owner once; only `hash_secret(secret)` is stored.
    """
    secret = secrets.token_urlsafe(32)
    return f"{prefix}_{row_id}_{secret}", secret


def split_token(token: str, prefix: str) -> tuple[int, str] | None:
    """`(row_id, secret)` from a token made by `new_token`, or None if it is not one of ours."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix or not parts[1].isdigit() or len(parts[1]) > 18:
        return None
    return int(parts[1]), parts[2]
