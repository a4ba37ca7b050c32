"""Starting and stopping the dashboard: the loopback/password rule, the data folder, the model,
the server, and a clean stop on Ctrl-C or SIGTERM.

Why the HTTP server runs on a thread: the main thread only waits for a stop signal, so a signal
never lands inside a request as an exception. On a stop the running analyses (in worker processes)
are ended with SIGTERM without being recorded and their jobs go back in the queue; queued jobs stay
in the store and run at the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

from werkzeug.serving import get_sockaddr, make_server, select_address_family

from formcheck.clinic.store import Store, default_db_path
from formcheck.errors import FormcheckError, InputError, ModelError
from formcheck.runs.stop_signals import EXIT_TERMINATED
from formcheck.web.auth import has_password, is_loopback

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130  # Ctrl-C (CONTRACT.md); SIGTERM: EXIT_TERMINATED, 143
JOB_STOP_TIMEOUT_S = 30.0  # the longest wait for the running analyses to end (writing what they measured)


class ServerStopped(FormcheckError):
    """The dashboard was stopped by a signal; `exit_code` is the contract's code for it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _StopSignals:
    """Ctrl-C and SIGTERM set a flag instead of raising; the previous handlers come back on exit.
    A SIGINT ignored by the parent (a background job) stays ignored."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        self.event.set()

    def __enter__(self) -> "_StopSignals":
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signum == signal.SIGINT and signal.getsignal(signum) is signal.SIG_IGN:
                continue
            try:
                self._previous[signum] = signal.signal(signum, self._note)
            except ValueError:  # not the main thread (an embedding program): it stops the server itself
                break
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _one_server_per_database(data_dir: Path, db_path: Path) -> IO[str]:
    """An exclusive lock on the data folder, held while serving: at start a server re-queues the
    analyses it finds running and removes uploads without a job, which is right only when no
    other server uses the same database. The lock goes with the process, even on kill -9."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = (data_dir / ".serve.lock").open("a")
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one server per database is then up to the user
        return lock
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise InputError(f"another `formcheck serve` is using {db_path}: stop it first") from None
    return lock


def _listening_socket(host: str, port: int) -> int:
    """The bound socket's descriptor for werkzeug (which, binding it itself, prints its own
    message and exits 1 when the port is taken)."""
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}: choose another --port") from None
    return sock.detach()


def _videos(n: int) -> str:
    return f"{n} uploaded video{'' if n == 1 else 's'}"


def data_dir_for(db_path: Path) -> Path:
    """Uploads and their analyses live beside the database (the same per-user place)."""
    return db_path.parent / f"{db_path.stem}-data"


def run_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    max_upload_mb: int = 500,
    model: Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl-C or SIGTERM, then raise `ServerStopped` (exit 130 or 143). Refuses a
    non-loopback address unless a therapist password is set. Uploads are analysed by `workers`
    local processes (default: the cores available) or on the Dask `scheduler`."""
    from formcheck.pose.model_store import resolve_model
    from formcheck.web.app import create_app
    from formcheck.web.video import remove_stale_temporaries

    with _StopSignals() as stop:
        db_path = default_db_path()
        with Store(db_path) as store:
            password = has_password(store)
        loopback = is_loopback(host)
        if not loopback and not password:
            raise InputError(
                f"refusing to serve on {host} without a therapist password: run `formcheck serve --set-password` first "
                "(or serve on 127.0.0.1)"
            )
        try:
            model_info = resolve_model(model, allow_download=False)
        except ModelError as exc:
            log.warning("uploads are off: %s", exc)
            model_info = None
        data_dir = data_dir_for(db_path)
        app = create_app(db_path, data_dir, model=model_info, max_upload_mb=max_upload_mb, loopback_only=loopback,
                         workers=workers, scheduler=scheduler)  # fmt: skip
        fd = _listening_socket(host, port)
        try:
            server = make_server(host, port, app, threaded=True, fd=fd)
        finally:
            os.close(fd)  # the server holds its own duplicate
        try:
            lock = _one_server_per_database(data_dir, db_path)
        except InputError:
            server.server_close()
            raise
        runner = app.extensions["formcheck_jobs"]
        waiting = runner.recover()["queued"]  # before serving: no upload is in flight yet
        remove_stale_temporaries(data_dir / "cache")
        try:
            runner.start()  # reaches the Dask scheduler, if any
        except FormcheckError:
            server.server_close()
            lock.close()
            raise
        where = f"on the Dask cluster at {scheduler}" if scheduler else f"{runner.workers} at a time"
        announce(f"formcheck dashboard on http://{host}:{server.port}/  (database {db_path}; videos analysed {where}; Ctrl-C stops)")
        if waiting:
            announce(f"{_videos(waiting)} from before {'is' if waiting == 1 else 'are'} waiting for analysis")
        serving = threading.Thread(target=server.serve_forever, name="formcheck-http", daemon=True)
        serving.start()
        while not stop.event.wait(0.5) and serving.is_alive():
            pass
        server.shutdown()
        finished = runner.stop(JOB_STOP_TIMEOUT_S, give_up=lambda: len(stop.received) > 1)
        if finished:  # else held until the process ends, with the analysis still running
            lock.close()
        if not stop.received:
            raise FormcheckError("the dashboard's server stopped unexpectedly (see the log above)")
    with Store(db_path) as store:
        left = len(store.jobs("queued")) + len(store.jobs("running"))
    signum = stop.received[0]
    what = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    later = f"{_videos(left)} will be analysed at the next start" if left else "no analysis was waiting"
    if not finished:
        later += " (the running analysis did not end in time; it runs again at the next start)"
    raise ServerStopped(f"dashboard stopped ({what}); {later}", EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED)
