"""Password hashing with Argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash with a random salt."""
    return _hasher.hash(password)
