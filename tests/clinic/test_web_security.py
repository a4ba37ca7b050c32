"""The dashboard's logins over real HTTP on 127.0.0.1 (a werkzeug server in a thread): forged,
replayed and guessed logins stay out, password changes hold at once, every response carries the
security headers, and the database files are the user's alone."""

from __future__ import annotations

import http.client
import logging
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.serving import make_server

from formcheck.clinic.store import Store, default_db_path
from formcheck.web.app import create_app
from formcheck.web.auth import LOGIN_PREFIX, LoginThrottle, set_password
from tests.clinic.test_web_app import make_db

PASSWORD = "correct horse"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path)


@contextmanager
def serve(db: Path, tmp_path: Path, **kw) -> Iterator[int]:
    """The dashboard on 127.0.0.1 (a free port, returned) until the block ends."""
    app = create_app(db, tmp_path / "data", **kw)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Reply:
    status: int
    headers: Message
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Browser:
    """Just enough of a browser: one session cookie, kept or handed in (a copied cookie)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie: str | None = None

    def request(self, method: str, path: str, form: dict | None = None, cookie: str | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        sent = cookie if cookie is not None else self.cookie
        if sent:
            headers["Cookie"] = f"session={sent}"
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            reply = Reply(r.status, r.headers, r.read().decode())
        finally:
            conn.close()
        if cookie is None:  # a replayed cookie is not the browser's own
            for line in reply.headers.get_all("Set-Cookie") or []:
                m = re.match(r"session=([^;]*)", line)
                if m:
                    self.cookie = m.group(1) or None
        return reply

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def csrf(self, path: str = "/login") -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', self.get(path).body)
        assert m, f"no form token on {path}"
        return m.group(1)

    def login(self, password: str) -> Reply:
        return self.request("POST", "/login", {"csrf": self.csrf(), "password": password})


def _signed(secret: str, data: dict) -> str:
    """A session cookie as Flask would sign it with `secret`."""
    app = Flask(__name__)
    app.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(data)


def _refused(reply: Reply) -> bool:
    return reply.status == 302 and "/login" in reply.location


@contextmanager
def logged_in(db: Path, tmp_path: Path) -> Iterator[Browser]:
    """The password set, the dashboard served, and a browser logged in to it."""
    with Store(db) as s:
        set_password(s, PASSWORD)
    with serve(db, tmp_path) as port:
        b = Browser(port)
        assert b.login(PASSWORD).status == 302
        assert b.get("/patients/P1").status == 200
        yield b


def test_forged_cookie_signed_with_the_stored_secret_is_refused(db: Path, tmp_path: Path) -> None:
    with logged_in(db, tmp_path) as real:
        with Store(db) as s:  # what someone who can read the database file knows
            secret = s.setting("dashboard_secret_key")
            gen = int(s.setting("dashboard_password_generation") or 0)
            stored = [r["key"][len(LOGIN_PREFIX) :] for r in s.conn.execute("SELECT key FROM settings WHERE key LIKE 'dashboard_login:%'")]
        assert secret
        forger = Browser(real.port)
        assert _refused(forger.get("/patients/P1", cookie=_signed(secret, {"therapist": True})))
        assert len(stored) == 1  # the store keeps a digest of the login's token, not the token
        for data in ({"therapist": True, "csrf": "x"}, {"login": stored[0], "gen": gen}, {"login": "guess", "gen": gen},
                     {"login": stored[0], "gen": gen, "therapist": True}):  # fmt: skip
            assert _refused(forger.get("/patients/P1", cookie=_signed(secret, data))), data
            assert _refused(forger.get("/", cookie=_signed(secret, data))), data
        assert real.get("/patients/P1").status == 200  # the real login is untouched


def test_cookie_replayed_after_logout_is_refused(db: Path, tmp_path: Path) -> None:
    with logged_in(db, tmp_path) as b:
        copied = b.cookie
        other = Browser(b.port)  # a second login survives the first one's logout
        other.login(PASSWORD)
        r = b.request("POST", "/logout", {"csrf": b.csrf("/")})
        assert r.status == 302 and b.cookie is None
        assert _refused(b.get("/patients/P1", cookie=copied))
        assert _refused(b.get("/sessions/1", cookie=copied))
        assert other.get("/patients/P1").status == 200


def test_cookie_replayed_after_password_change_is_refused(db: Path, tmp_path: Path) -> None:
    with logged_in(db, tmp_path) as b:
        copied = b.cookie
        with Store(db) as s:  # another connection, as `formcheck serve --set-password` makes
            old_secret = s.setting("dashboard_secret_key")
            set_password(s, "battery staple")
            assert s.setting("dashboard_secret_key") != old_secret  # rotated
        assert _refused(b.get("/patients/P1", cookie=copied))
        assert _refused(b.get("/patients/P1"))
        fresh = Browser(b.port)
        assert "wrong password" in fresh.login(PASSWORD).body
        r = fresh.login("battery staple")
        assert r.status == 302 and fresh.get("/patients/P1").status == 200


def test_password_set_while_serving_is_enforced_at_once(db: Path, tmp_path: Path) -> None:
    with serve(db, tmp_path) as port:
        b = Browser(port)
        assert b.get("/patients/P1").status == 200  # no password yet: open on loopback
        with Store(db) as s:  # another connection
            set_password(s, PASSWORD)
        assert _refused(b.get("/patients/P1"))
        assert _refused(Browser(port).get("/"))
        assert b.login(PASSWORD).status == 302 and b.get("/patients/P1").status == 200
        proc = subprocess.run(  # and another process: the command a therapist runs
            [sys.executable, "-m", "formcheck", "serve", "--set-password"], input="battery staple\nbattery staple\n",
            capture_output=True, text=True, timeout=120, env={**os.environ, "FORMCHECK_DB": str(db)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert _refused(b.get("/patients/P1"))
        assert "wrong password" in b.login(PASSWORD).body
        assert b.login("battery staple").status == 302 and b.get("/patients/P1").status == 200


def test_brute_force_is_throttled(db: Path, tmp_path: Path) -> None:
    now = [1000.0]
    throttle = LoginThrottle(free=5, base_s=1.0, cap_s=60.0, clock=lambda: now[0])
    with Store(db) as s:
        set_password(s, PASSWORD)
    started = time.monotonic()
    with serve(db, tmp_path, login_throttle=throttle) as port:
        b = Browser(port)
        token = b.csrf()
        statuses = [b.request("POST", "/login", {"csrf": token, "password": f"guess{k}"}).status for k in range(30)]
        assert statuses == [200] * 5 + [429] * 25  # 5 guesses checked, the rest refused unchecked
        r = b.request("POST", "/login", {"csrf": token, "password": PASSWORD})
        assert r.status == 429 and r.headers["Retry-After"] == "1"  # the right one too, while throttled
        assert "too many wrong passwords: try again in 1 s" in r.body
        assert _refused(b.get("/patients/P1"))
        now[0] += 1.0
        assert "wrong password" in b.request("POST", "/login", {"csrf": token, "password": "guess30"}).body
        r = b.request("POST", "/login", {"csrf": token, "password": PASSWORD})
        assert r.status == 429 and r.headers["Retry-After"] == "2"  # doubled
        now[0] += 2.0
        r = b.request("POST", "/login", {"csrf": token, "password": PASSWORD})
        assert r.status == 302 and b.get("/patients/P1").status == 200
        assert throttle.retry_after("127.0.0.1") == 0  # a good login clears the count
    assert time.monotonic() - started < 30  # no real waiting (scrypt checks take the time)


def test_login_throttle_backs_off_per_client() -> None:
    now = [0.0]
    t = LoginThrottle(free=3, base_s=2.0, cap_s=10.0, forget_s=100.0, clock=lambda: now[0])
    for _ in range(2):
        t.failed("a")
    assert t.retry_after("a") == 0
    waits = []
    for _ in range(5):
        t.failed("a")
        waits.append(t.retry_after("a"))
    assert waits == [2.0, 4.0, 8.0, 10.0, 10.0]  # doubling up to the cap
    assert t.retry_after("b") == 0  # per client
    now[0] += 9.0
    assert t.retry_after("a") == pytest.approx(1.0)
    now[0] += 200.0  # quiet long enough: starts over
    t.failed("a")
    assert t.retry_after("a") == 0
    t.failed("b"), t.failed("b"), t.failed("b")
    assert t.retry_after("b") == 2.0
    t.succeeded("b")
    assert t.retry_after("b") == 0
    small = LoginThrottle(max_clients=4, clock=lambda: now[0])
    for k in range(50):
        small.failed(f"10.0.0.{k}")
    assert len(small._clients) <= 4  # memory stays bounded


HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def test_security_headers_on_every_response(db: Path, tmp_path: Path) -> None:
    with serve(db, tmp_path) as port:
        b = Browser(port)
        replies = {
            "page": b.get("/patients/P1"), "session": b.get("/sessions/1"), "static": b.get("/static/app.js"),
            "404": b.get("/nothing-here"), "400": b.request("POST", "/patients", {"id": "P2"}),
            "login": b.get("/login"), "error page": b.request("POST", "/patients/P1/thresholds", {"csrf": b.csrf("/"), "valgus_fppa_deg": "abc"}),
        }  # fmt: skip
        with Store(db) as s:
            set_password(s, PASSWORD)
        replies["redirect"] = Browser(port).get("/")
        replies["429"] = _throttled(port)
    for name, r in replies.items():
        for header, value in HEADERS.items():
            assert r.headers.get(header) == value, (name, header)
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, name
    assert [(k, r.status) for k, r in replies.items() if k in ("400", "404", "redirect", "429", "error page")] == [
        ("404", 404), ("400", 400), ("error page", 400), ("redirect", 302), ("429", 429)]  # fmt: skip
    # the pages carry nothing the policy refuses: no inline script, style or javascript: link
    for name in ("page", "session", "login", "error page"):
        body = replies[name].body
        assert not re.search(r"<script(?![^>]*\bsrc=)", body) and "<style" not in body, name
        assert not re.search(r"\sstyle=|\son[a-z]+=|javascript:", body), name
    assert replies["page"].body.count("<svg") >= 2  # the charts are still there, inline


def _throttled(port: int) -> Reply:
    b = Browser(port)
    token = b.csrf()
    for _ in range(6):
        r = b.request("POST", "/login", {"csrf": token, "password": "wrong guess"})
    return r


def test_session_cookie_flags(db: Path, tmp_path: Path) -> None:
    with Store(db) as s:
        set_password(s, PASSWORD)
    with serve(db, tmp_path) as port:
        r = Browser(port).login(PASSWORD)
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=" in cookie and "Secure" not in cookie  # plain HTTP: a Secure cookie would be lost
    app = create_app(db, tmp_path / "data")
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")  # served over HTTPS (e.g. behind a TLS proxy)
    token = re.search(r'name="csrf" value="([^"]+)"', page.data.decode()).group(1)
    r = client.post("/login", data={"csrf": token, "password": PASSWORD}, base_url="https://localhost")
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_database_files_are_private(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old_umask = os.umask(0o022)  # a usual umask: files 0644, folders 0755 unless asked otherwise
    try:
        path = tmp_path / "new" / "formcheck.db"
        with Store(path) as s:
            s.add_patient("P1")
            set_password(s, PASSWORD)
            assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
            siblings = [path.with_name(path.name + sfx) for sfx in ("-wal", "-shm")]
            assert all(p.exists() for p in siblings)  # WAL mode, open connection
            assert [_mode(p) for p in siblings] == [0o600, 0o600]

        folder = tmp_path / "loose"
        folder.mkdir(mode=0o755)
        loose = folder / "formcheck.db"
        with Store(loose) as s:
            s.add_patient("P1")
            os.chmod(loose, 0o644)
            os.chmod(folder, 0o755)
            for p in (loose.with_name(loose.name + "-wal"), loose.with_name(loose.name + "-shm")):
                os.chmod(p, 0o644)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="formcheck.clinic.store.db"), Store(loose) as s:
            assert s.patient("P1") is not None
            assert _mode(loose) == 0o600 and _mode(folder) == 0o700
            assert all(_mode(p) == 0o600 for p in folder.iterdir() if p.name.startswith("formcheck.db"))
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(str(loose) in w and "tightened to 0600" in w for w in warnings), warnings
        assert any(str(folder) in w and "tightened to 0700" in w for w in warnings), warnings
        assert all("\n" not in w for w in warnings)
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_dashboard_data_folder_is_private(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Uploads, their analyses and the video cache live beside the database, as private as it."""
    old_umask = os.umask(0o022)
    try:
        db = make_db(tmp_path)
        create_app(db, tmp_path / "data")
        assert _mode(tmp_path / "data") == 0o700
        loose = tmp_path / "loose-data"
        loose.mkdir(mode=0o755)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="formcheck.clinic.store.db"):
            create_app(db, loose)
        assert _mode(loose) == 0o700
        assert any(str(loose) in r.getMessage() and "tightened to 0700" in r.getMessage() for r in caplog.records)
    finally:
        os.umask(old_umask)


def test_default_db_path_is_the_user_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORMCHECK_DB", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert default_db_path() == tmp_path / ".local" / "share" / "formcheck" / "formcheck.db"
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert default_db_path() == tmp_path / "xdg" / "formcheck" / "formcheck.db"
    monkeypatch.setenv("FORMCHECK_DB", "~/elsewhere.db")
    assert default_db_path() == tmp_path / "elsewhere.db"
