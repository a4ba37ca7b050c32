"""Therapist password, logins, login throttling and the loopback rule.

Why: the dashboard shows health data. On 127.0.0.1 only this machine's users can reach it; any
other address exposes it to the network, so it must not start without a password.

Why a signed cookie is not enough: the signing secret lives in the database, so anyone who
reads the database file could sign any cookie. A cookie therefore only names a login: a random
token made when the right password was given, of which the store keeps only the SHA-256. Reading
the store (secret included) gives neither a token nor a way to make one the store knows; writing
the store could set the password anyway, which the file modes (0600 in a 0700 folder) prevent.
Logging out deletes the login's record; a password change deletes every record, bumps the
password generation stamped in each cookie and rotates the secret, so copied cookies die.
Everything is read from the store per request: a password set by another process (`formcheck
serve --set-password`) holds at once in a running server.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from formcheck.clinic.store import Store
from formcheck.clinic.store.db import transaction
from formcheck.errors import InputError

MIN_PASSWORD = 8
PASSWORD_KEY = "dashboard_password_hash"
SECRET_KEY = "dashboard_secret_key"
GENERATION_KEY = "dashboard_password_generation"
LOGIN_PREFIX = "dashboard_login:"  # + SHA-256 of the login token; value: {"gen": n, "at": epoch s}
LOGIN_MAX_AGE_S = 30 * 24 * 3600  # a login unused by a logout is forgotten after this


def set_password(store: Store, password: str) -> None:
    """Set the password; ends every login (their records, the generation, the signing secret)."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters")
    hashed = generate_password_hash(password)
    with transaction(store.conn) as conn:
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (GENERATION_KEY,)).fetchone()
        generation = _int(row["value"] if row else None) + 1
        for key, value in ((PASSWORD_KEY, hashed), (GENERATION_KEY, str(generation)), (SECRET_KEY, secrets.token_hex(32))):
            conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))
        conn.execute("DELETE FROM settings WHERE substr(key, 1, ?) = ?", (len(LOGIN_PREFIX), LOGIN_PREFIX))


def has_password(store: Store) -> bool:
    return store.setting(PASSWORD_KEY) is not None


def check_password(store: Store, password: str) -> bool:
    stored = store.setting(PASSWORD_KEY)
    return stored is not None and check_password_hash(stored, password)


def secret_key(store: Store) -> str:
    """Signing key for session cookies, made once per database and replaced by `set_password`."""
    key = store.setting(SECRET_KEY)
    if key is None:
        with transaction(store.conn) as conn:  # two first requests at once must agree on one key
            conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (SECRET_KEY, secrets.token_hex(32)))
        key = store.setting(SECRET_KEY)
        assert key is not None
    return key


def generation(store: Store) -> int:
    """How many times the password was set: stamped in each login's cookie."""
    return _int(store.setting(GENERATION_KEY))


def start_login(store: Store, now: float | None = None) -> dict[str, Any]:
    """Record a new login (call after the password was checked); returns what its cookie holds."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    gen = generation(store)
    with transaction(store.conn) as conn:
        for row in conn.execute("SELECT key, value FROM settings WHERE substr(key, 1, ?) = ?", (len(LOGIN_PREFIX), LOGIN_PREFIX)).fetchall():
            if _record(row["value"])["at"] < now - LOGIN_MAX_AGE_S:
                conn.execute("DELETE FROM settings WHERE key = ?", (row["key"],))
        conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (_login_key(token), json.dumps({"gen": gen, "at": now})))
    return {"login": token, "gen": gen}


def login_is_valid(store: Store, cookie: Any, now: float | None = None) -> bool:
    """True when the cookie names a recorded login of the current password generation."""
    token, gen = (cookie.get("login"), cookie.get("gen")) if hasattr(cookie, "get") else (None, None)
    if not isinstance(token, str) or not token or type(gen) is not int:
        return False
    value = store.setting(_login_key(token))
    if value is None:
        return False
    record = _record(value)
    now = time.time() if now is None else now
    return record["gen"] == gen == generation(store) and record["at"] >= now - LOGIN_MAX_AGE_S


def end_login(store: Store, cookie: Any) -> None:
    token = cookie.get("login") if hasattr(cookie, "get") else None
    if isinstance(token, str) and token:
        with transaction(store.conn) as conn:
            conn.execute("DELETE FROM settings WHERE key = ?", (_login_key(token),))


def _login_key(token: str) -> str:
    return LOGIN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def _record(value: str) -> dict[str, Any]:
    """A login record; a damaged one reads as generation -1 from 1970 (never valid)."""
    try:
        d = json.loads(value)
        return {"gen": int(d["gen"]), "at": float(d["at"])}
    except (ValueError, TypeError, KeyError):
        return {"gen": -1, "at": 0.0}


def _int(text: str | None) -> int:
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


@dataclass
class _Client:
    failures: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    """Per-client backoff on wrong passwords: `free` wrong ones cost nothing, then each one blocks
    the client for `base_s`, doubling up to `cap_s`. A client quiet for `forget_s` starts over.

    Why in memory: it only has to slow a guesser down to a few tries a minute; a restart resets
    it, which costs an attacker a restart they cannot cause. `clock` is injectable for tests.
    """

    def __init__(self, free: int = 5, base_s: float = 1.0, cap_s: float = 300.0, forget_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:  # fmt: skip
        self.free, self.base_s, self.cap_s, self.forget_s = free, base_s, cap_s, forget_s
        self.clock = clock
        self.max_clients = max_clients
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before its next try (0: go ahead)."""
        with self._lock:
            c = self._clients.get(client)
            return max(0.0, c.blocked_until - self.clock()) if c else 0.0

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            c = self._clients.get(client)
            if c is None or now - c.last > self.forget_s:
                if len(self._clients) >= self.max_clients:
                    self._forget(now)
                c = self._clients[client] = _Client()
            c.failures += 1
            c.last = now
            if c.failures >= self.free:
                c.blocked_until = now + min(self.cap_s, self.base_s * 2.0 ** min(c.failures - self.free, 64))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def _forget(self, now: float) -> None:
        """Drop clients quiet for `forget_s`; if that frees nothing, the least recent half."""
        for k in [k for k, c in self._clients.items() if now - c.last > self.forget_s]:
            del self._clients[k]
        if len(self._clients) >= self.max_clients:
            for k in sorted(self._clients, key=lambda k: self._clients[k].last)[: len(self._clients) // 2]:
                del self._clients[k]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
