"""Secrets: password hashing (Argon2id), tokens (random, stored as SHA-256), CSRF tokens, passwords.

Tokens are 256-bit random strings with a readable prefix (``fra_`` API, ``fri_`` ingest, ``frs_``
session). Only their SHA-256 is stored: a token has full entropy, so a slow hash adds nothing, and
lookups stay one index probe. Passwords are low-entropy and get Argon2id (argon2-cffi defaults).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PREFIXES = {"api": "fra_", "ingest": "fri_", "session": "frs_"}
ROLES = ("viewer", "admin")
_ALPHABET = string.ascii_letters + string.digits


class Passwords:
    """Argon2id hashing and verification (one hasher per server)."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        """The encoded Argon2id hash of a password."""
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """True when the password matches; with no user (``encoded`` None) the same work is done."""
        try:
            return self._hasher.verify(encoded or self._dummy, password) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_token(kind: str) -> str:
    """A fresh token of a kind ('api', 'ingest' or 'session')."""
    return PREFIXES[kind] + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(session_token: str) -> str:
    """The CSRF token bound to a session (sent as a readable cookie and echoed in a header)."""
    return hmac.new(session_token.encode(), b"flowradar-csrf", hashlib.sha256).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two optional strings (False when either is missing)."""
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def new_password(length: int = 20) -> str:
    """A random password of letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(max(length, 12)))
