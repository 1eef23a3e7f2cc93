"""Who is asking: session cookies (dashboard, with CSRF), API tokens and ingest tokens (Bearer).

Sessions are stored as API tokens named ``session:<user>:<expiry>`` (only their hash), so every
server process sharing a store knows them and logout revokes one for all. A state-changing request
authenticated by a session cookie must carry ``X-CSRF-Token`` equal both to the ``flowradar_csrf``
cookie and to the value bound to the session (double submit, bound to the session). Bearer requests
need no CSRF token: browsers never attach them by themselves.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flowradar.server.security import Passwords, csrf_for, new_password, new_token, same_secret, token_hash
from flowradar.server.settings import AuthConfig
from flowradar.store.base import Store, StoreConflict, Token

SESSION_COOKIE = "flowradar_session"
CSRF_COOKIE = "flowradar_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_S = 2.0
"""Token lookups are cached this long (a revoked token stops working within it)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: str
    """'viewer', 'admin' or 'ingest'."""
    via: str
    """'session', 'api' or 'ingest'."""
    token_id: int
    host: str | None = None
    """The host of an ingest token."""
    session: str | None = None
    """The session token (cookie) when ``via`` is 'session'."""

    def can(self, role: str) -> bool:
        """True when this caller holds ``role`` ('viewer' is held by admins too)."""
        if role == "viewer":
            return self.role in ("viewer", "admin")
        return self.role == role


class AuthError(Exception):
    """Authentication or authorisation failed: ``status`` 401 or 403, one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def session_name(user: str, expires: float) -> str:
    """The token name that marks a session."""
    return f"session:{user}:{int(expires)}"


def parse_session(name: str) -> tuple[str, float] | None:
    """(user, expiry) of a session token name, None for other tokens."""
    if not name.startswith("session:"):
        return None
    user, _, expires = name[len("session:") :].rpartition(":")
    try:
        return user, float(expires)
    except ValueError:
        return None


class Authenticator:
    """Checks credentials against the store (users and token hashes); one per app."""

    def __init__(self, store: Store, cfg: AuthConfig) -> None:
        self.store = store
        self.cfg = cfg
        self.passwords = Passwords()
        self._cache: dict[str, tuple[float, Token | None]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ tokens

    def _token(self, secret: str) -> Token | None:
        digest = token_hash(secret)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        token = self.store.find_token(digest)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + CACHE_S, token)
        return token

    def forget(self, secret: str) -> None:
        """Drop a token from the lookup cache (after logout or revocation)."""
        with self._lock:
            self._cache.pop(token_hash(secret), None)

    def bearer(self, secret: str) -> Principal:
        """The caller of an API or ingest token (AuthError 401 when unknown or revoked)."""
        token = self._token(secret)
        if token is None or parse_session(token.name) is not None:
            raise AuthError(401, "invalid or revoked token")
        if token.kind == "ingest":
            return Principal(token.name, "ingest", "ingest", token.id, host=token.host)
        return Principal(token.name, token.role or "viewer", "api", token.id)

    def session(
        self, secret: str, method: str, csrf_cookie: str | None, csrf_header: str | None
    ) -> Principal:
        """The caller of a session cookie; state-changing methods must pass the CSRF check."""
        token = self._token(secret)
        parsed = parse_session(token.name) if token is not None else None
        if token is None or parsed is None or parsed[1] < time.time():
            raise AuthError(401, "session expired or logged out: log in again")
        if method.upper() not in SAFE_METHODS:
            expected = csrf_for(secret)
            if not (same_secret(csrf_header, expected) and same_secret(csrf_cookie, expected)):
                raise AuthError(403, "missing or wrong X-CSRF-Token header (copy the flowradar_csrf cookie)")
        return Principal(parsed[0], token.role or "viewer", "session", token.id, session=secret)

    # ------------------------------------------------------------------ login

    def login(self, username: str, password: str) -> tuple[str, float]:
        """Check a password; return a new session token and its expiry (AuthError 401 otherwise)."""
        user = self.store.get_user(username)
        if not self.passwords.verify(user.password_hash if user else None, password) or user is None:
            raise AuthError(401, "wrong user name or password")
        expires = time.time() + self.cfg.session_ttl_s
        secret = new_token("session")
        self.store.create_token("api", session_name(user.name, expires), token_hash(secret), role=user.role)
        return secret, expires

    def logout(self, principal: Principal) -> None:
        """End a session (revoke its token)."""
        if principal.via == "session" and principal.session is not None:
            self.store.revoke_token(principal.token_id)
            self.forget(principal.session)

    def create_user(self, name: str, password: str, role: str) -> None:
        """Add a user (ValueError for a short password, StoreConflict when the name exists)."""
        if len(password) < self.cfg.password_min_length:
            raise ValueError(f"password too short (at least {self.cfg.password_min_length} characters)")
        self.store.create_user(name, self.passwords.hash(password), role)

    def ensure_admin(self) -> str | None:
        """On first start (no user at all) create the first admin; return its password (else None)."""
        if self.store.list_users():
            return None
        password = new_password(20)
        try:
            self.store.create_user(self.cfg.admin_user, self.passwords.hash(password), "admin")
        except StoreConflict:  # another server process won the race
            return None
        return password


def create_token(
    store: Store, kind: str, name: str | None, role: str | None = None, host: str | None = None
) -> tuple[str, int]:
    """Make a token ('api' with a role, 'ingest' with a host); return its secret (shown once) and id."""
    if kind == "ingest":
        if not host:
            raise ValueError("an ingest token needs a host name (--host NAME)")
        role = None
    elif kind == "api":
        role = role or "viewer"
        if role not in ("viewer", "admin"):
            raise ValueError("role must be viewer or admin")
        host = None
    else:
        raise ValueError("token kind must be api or ingest")
    label = name or (f"agent {host}" if kind == "ingest" else f"{role} token")
    if label.startswith("session:"):
        raise ValueError("token names may not start with 'session:'")
    secret = new_token(kind)
    token_id = store.create_token("api" if kind == "api" else "ingest", label, token_hash(secret), role, host)
    return secret, token_id
