"""An output folder whose files change together: a run writes into a hidden staging folder inside
it and commits the whole set at the end, so the folder never mixes two runs' files.

Why a journal: several renames cannot be one atomic step. Before the first rename the commit
writes `.formcheck-commit` naming the staging folder; a process killed during the renames leaves
the journal behind, and the next run or reader of the folder (`settle`) finishes the commit. A run
that fails or is killed before committing leaves the earlier result whole; its staging folder is
removed by the next run on the same machine once its process is gone.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
from pathlib import Path

from formcheck.errors import InputError

log = logging.getLogger(__name__)

JOURNAL = ".formcheck-commit"
STAGING_PREFIX = ".formcheck-run-"
# Every file a run of analyze or live writes: a commit removes the ones the new run did not write,
# so an earlier run's annotated.mp4 never sits beside a --no-video run's summary.
RUN_FILES = ("annotated.mp4", "raw.mp4", "landmarks.npy", "frames.csv", "report.html", "live.json", "summary.json",
             # analyze --export's files (exports.default_name), written after the commit
             "markers.trc", "angles.mot", "markers.c3d", "keypoints.csv", "session.fhir.json")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _finish(out_dir: Path, journal: dict) -> None:
    """The renames of a commit; each step can run again after a kill (a moved file is skipped)."""
    staging = out_dir / journal["staging"]
    names = list(journal["files"])
    for name in RUN_FILES:
        if name not in names:
            (out_dir / name).unlink(missing_ok=True)
    # summary.json last: while it is the earlier run's, readers see the earlier run's set.
    for name in sorted(names, key=lambda n: n == "summary.json"):
        if (staging / name).exists():
            os.replace(staging / name, out_dir / name)
    shutil.rmtree(staging, ignore_errors=True)
    (out_dir / JOURNAL).unlink(missing_ok=True)


def settle(out_dir: Path) -> None:
    """Finish a commit a killed process left half done, and remove staging folders of runs whose
    process has ended. Safe to call on any folder, present or not."""
    journal_path = out_dir / JOURNAL
    if journal_path.is_file():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
            _finish(out_dir, journal)
            log.info("%s: finished a commit an earlier run left half done", out_dir)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: could not finish an earlier commit (%s)", out_dir, exc)
    if not out_dir.is_dir():
        return
    for staged in out_dir.glob(f"{STAGING_PREFIX}*"):
        pid, _, rest = staged.name[len(STAGING_PREFIX) :].partition("-")
        host = rest.partition(".")[2]
        # Another machine's run (a cluster writing to shared storage) is not this host's to judge.
        if pid.isdigit() and host == socket.gethostname() and not _pid_alive(int(pid)):
            shutil.rmtree(staged, ignore_errors=True)


def prepare_out_dir(out_dir: Path) -> Path:
    """Create the folder (and parents) or fail with one line if it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {out_dir}: {exc.strerror or exc}") from None
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK | os.X_OK):
        raise InputError(f"output folder {out_dir} is not writable: choose another with --out")
    return out_dir


class RunFolder:
    """Staging for one run's files in `out_dir`: write to `path(name)`, then `commit()` or `discard()`."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._created = not out_dir.exists()
        prepare_out_dir(out_dir)
        settle(out_dir)
        self.staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.{socket.gethostname()}"
        self.staging.mkdir()
        self.committed = False

    def path(self, name: str) -> Path:
        return self.staging / name

    def final(self, name: str) -> Path:
        return self.out_dir / name

    def commit(self) -> dict[str, Path]:
        """Move every staged file into the folder together; returns their final paths by name."""
        names = sorted(p.name for p in self.staging.iterdir() if not p.name.startswith("."))
        # Everything that could stop a rename is checked before the first one.
        blocked = [n for n in (*names, *RUN_FILES) if (self.out_dir / n).is_dir()]
        if blocked:
            raise InputError(f"cannot write {self.out_dir / blocked[0]}: a folder of that name is in the way")
        journal = {"staging": self.staging.name, "files": names}
        tmp = self.out_dir / f"{JOURNAL}.{self.staging.name}"
        tmp.write_text(json.dumps(journal), encoding="utf-8")
        os.replace(tmp, self.out_dir / JOURNAL)
        _finish(self.out_dir, journal)
        self.committed = True
        return {name: self.out_dir / name for name in names}

    def discard(self) -> None:
        """Drop the staged files; the folder keeps the earlier run's result (or goes, if this run made it)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self._created:
            try:
                self.out_dir.rmdir()
            except OSError:
                pass
