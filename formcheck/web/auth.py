"""Therapist password (stored hashed with werkzeug's scrypt) and the loopback rule.

Why: the dashboard shows health data. On 127.0.0.1 only this machine's users can reach it; any
other address exposes it to the network, so it must not start without a password.
"""

from __future__ import annotations

import ipaddress
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from formcheck.errors import InputError
from formcheck.store import Store

MIN_PASSWORD = 8
PASSWORD_KEY = "dashboard_password_hash"
SECRET_KEY = "dashboard_secret_key"


def set_password(store: Store, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters")
    store.set_setting(PASSWORD_KEY, generate_password_hash(password))


def has_password(store: Store) -> bool:
    return store.setting(PASSWORD_KEY) is not None


def check_password(store: Store, password: str) -> bool:
    stored = store.setting(PASSWORD_KEY)
    return stored is not None and check_password_hash(stored, password)


def secret_key(store: Store) -> str:
    """Signing key for session cookies, made once per database (logins survive a restart)."""
    key = store.setting(SECRET_KEY)
    if key is None:
        key = secrets.token_hex(32)
        store.set_setting(SECRET_KEY, key)
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
