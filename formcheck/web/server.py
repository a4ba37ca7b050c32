"""Starting the dashboard: the loopback/password rule, the data folder, the model, the server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from werkzeug.serving import make_server

from formcheck.errors import InputError, ModelError
from formcheck.store import Store, default_db_path
from formcheck.web.auth import has_password, is_loopback

log = logging.getLogger(__name__)


def data_dir_for(db_path: Path) -> Path:
    """Uploads and their analyses live beside the database (the same per-user place)."""
    return db_path.parent / f"{db_path.stem}-data"


def run_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    max_upload_mb: int = 500,
    model: Path | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl-C. Refuses a non-loopback address unless a therapist password is set."""
    from formcheck.model_store import resolve_model
    from formcheck.web.app import create_app

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
    app = create_app(db_path, data_dir_for(db_path), model=model_info, max_upload_mb=max_upload_mb, loopback_only=loopback)
    server = make_server(host, port, app, threaded=True)
    announce(f"formcheck dashboard on http://{host}:{server.server_port}/  (database {db_path}; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["formcheck_jobs"].shutdown()
