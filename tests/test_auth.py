"""Secrets are stored only as argon2 hashes and checked exactly."""

import pytest

from unleak.auth import check_password, hash_secret, new_token, split_token, verify_secret
from unleak.errors import InvalidInput


def test_a_stored_hash_accepts_its_secret_only() -> None:
    stored = hash_secret("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_secret(stored, "correct horse battery")
    assert not verify_secret(stored, "correct horse batterY")
    assert not verify_secret("not a hash", "correct horse battery")


def test_a_token_names_its_row_and_its_secret_verifies() -> None:
    token, secret = new_token("ulk", 42)
    assert split_token(token, "ulk") == (42, secret)
    assert verify_secret(hash_secret(secret), split_token(token, "ulk")[1])  # type: ignore[index]
    assert new_token("ulk", 42)[0] != token


@pytest.mark.parametrize("token", ["", "ulk", "ulk_x_secret", "other_1_secret", "ulk_" + "9" * 19 + "_s"])
def test_foreign_tokens_are_not_ours(token: str) -> None:
    assert split_token(token, "ulk") is None


def test_short_passwords_are_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInput, match="at least 10"):
        check_password("short")
    check_password("ten chars!")
