"""SIGTERM handled like Ctrl-C: the run stops, writes what it measured (marked partial) and the
command exits 143, the shell's code for a process ended by SIGTERM.

Why an exception: the analysis already keeps what it measured when `KeyboardInterrupt` reaches
it; raising a subclass for SIGTERM takes the same path, and the caller can tell the two apart.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (raised where Ctrl-C's KeyboardInterrupt would be)."""


_deferred: list[int] = []


_received: list[int] = []


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    raise Terminated()


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt()


def stopped() -> bool:
    """Whether Ctrl-C or SIGTERM has arrived: a C extension interrupted while it initialises may
    report it as an ImportError instead of passing the KeyboardInterrupt on."""
    return bool(_received or _deferred)


def exit_before_measuring(code: int) -> None:
    """Exit with `code` at once, for a stop that came before anything was measured (nothing to
    save). Not through `sys.exit`: when the interrupt landed in code a C extension ran while being
    imported, CPython keeps a note of an unhandled Ctrl-C and, at the end of `Py_RunMain`, kills
    itself with SIGINT instead of returning `code` (seen as -2 about one start in sixteen)."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def terminated() -> bool:
    """Whether SIGTERM has arrived in this process (at any point)."""
    return signal.SIGTERM in _received or signal.SIGTERM in _deferred


def install() -> None:
    """Make SIGTERM raise `Terminated` and Ctrl-C `KeyboardInterrupt` in the main thread, both
    noted (`stopped`); call once, from the command line."""
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
        signal.signal(signal.SIGINT, _raise_interrupted)
    except ValueError:  # not the main thread: leave the default
        pass


@contextmanager
def deferred() -> Iterator[None]:
    """While the results are written, Ctrl-C and SIGTERM are noted, not acted on: a second
    interrupt must not leave half-written files."""
    def note(signum: int, _frame: FrameType | None) -> None:
        _deferred.append(signum)

    try:
        previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
