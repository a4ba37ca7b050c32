"""SQLite plumbing: where the database lives, how a connection is set up, and migrations.

Why these settings: WAL lets the dashboard read while a recording writes; a busy timeout makes
concurrent writers wait instead of failing; `BEGIN IMMEDIATE` takes the write lock up front so
two writers never both read-then-upgrade (SQLite's deadlock case); foreign keys keep reps from
outliving their session. A killed process (kill -9) loses at most its open transaction: SQLite's
journal rolls it back the next time the file is opened. The database holds health data and the
dashboard's login records, so its files are the user's alone (0600, folder 0700).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_path

from formcheck.errors import FormcheckError, InputError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
FILE_MODE = 0o600
FOLDER_MODE = 0o700
SIBLINGS = ("-wal", "-shm", "-journal")  # SQLite gives these the database file's mode


class StoreError(FormcheckError):
    """The session database cannot be used (newer schema, corrupt file, unwritable folder)."""


def default_db_path() -> Path:
    """`$FORMCHECK_DB`, else formcheck/formcheck.db in the per-user data folder (platformdirs:
    `$XDG_DATA_HOME` or ~/.local/share on Linux, Application Support on macOS, LOCALAPPDATA on
    Windows)."""
    env = os.environ.get("FORMCHECK_DB")
    if env:
        return Path(env).expanduser()
    return user_data_path("formcheck", appauthor=False) / "formcheck.db"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating the folder) with WAL, a busy timeout and foreign keys; autocommit mode,
    so transactions are explicit (see `transaction`)."""
    try:
        _private_files(path)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise InputError(f"cannot open the session database {path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable on commit except on power loss
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path} is not a usable formcheck database: {exc}") from None
    return conn


def _private_files(path: Path) -> None:
    """Create the folder 0700 and the (empty: SQLite starts a new database in it) file 0600
    before SQLite does, or tighten looser existing ones, with a warning. A folder shared with
    others (not ours, sticky like /tmp) or the home folder is left as it is: 0600 files suffice."""
    if os.name != "posix":
        return
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        os.chmod(path, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    for suffix in SIBLINGS:
        _tighten(path.with_name(path.name + suffix), FILE_MODE)


def private_folder(folder: Path) -> None:
    """Create `folder` (and its parents) 0700, or tighten a looser existing one with a warning;
    the home folder and shared sticky folders are left as they are."""
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
        if os.name == "posix":
            os.chmod(folder, FOLDER_MODE)  # mkdir's mode is cut by the umask
    elif folder.resolve() != Path.home().resolve():
        _tighten(folder, FOLDER_MODE)


def _tighten(path: Path, mode: int) -> None:
    """Take away what `mode` does not allow (group and other access) from a file or folder of
    ours; a missing file, someone else's or a sticky shared folder is left alone."""
    if os.name != "posix":
        return
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    current = stat.S_IMODE(st.st_mode)
    if not current & ~mode or st.st_uid != os.getuid() or (stat.S_ISDIR(st.st_mode) and current & stat.S_ISVTX):
        return
    os.chmod(path, current & mode)
    log.warning("%s was open to other users (mode %04o): tightened to %04o", path, current, current & mode)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing: BEGIN IMMEDIATE (write lock now, waiting up to the busy timeout), COMMIT
    on success, ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Bring the schema up to the last migration, each step in its own transaction with its
    version bump, so a failed or interrupted step leaves the previous version intact."""
    latest = migrations[-1].version if migrations else 0
    versions = [m.version for m in migrations]
    if versions != list(range(1, latest + 1)):
        raise ValueError(f"migrations must be numbered 1..n without gaps, got {versions}")
    current = schema_version(conn)
    if current > latest:
        raise StoreError(
            f"the session database is at schema version {current}, newer than this formcheck knows ({latest}): upgrade formcheck"
        )
    for m in migrations[current:]:
        with transaction(conn):
            # Re-check under the write lock: another process may have migrated meanwhile.
            if schema_version(conn) >= m.version:
                continue
            log.info("migrating session database to version %d: %s", m.version, m.description)
            for statement in _statements(m.sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {m.version}")
    return schema_version(conn)


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:60]}")
    return out
