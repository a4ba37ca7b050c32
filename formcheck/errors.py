"""Errors that end a command with one clear line and a contract exit code (see CONTRACT.md)."""

from __future__ import annotations


class FormcheckError(Exception):
    """Something the user can act on; the CLI prints `str(self)` on one line and exits `exit_code`."""

    exit_code = 1


class InputError(FormcheckError):
    """The input or the command line is at fault: unreadable video, unknown exercise, bad folder."""

    exit_code = 2


class ModelError(InputError):
    """No usable pose model, and no way to get one."""


class SourceLostError(FormcheckError):
    """A frame source that was working stopped delivering (camera unplugged, stream cut)."""

    exit_code = 1
