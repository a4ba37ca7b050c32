"""Checks for every value a person types: patient IDs, dates, pain scores, prescriptions, limits
and ports. The command line, the config file, the session store and the dashboard all call these,
so a value refused in one place is refused everywhere, with the same one-line reason.

Why here and not in each caller: a check written twice drifts (a patient ID ending in a newline
passed a `$`-anchored pattern), and a number too large for SQLite or a NaN that slips through
turns a user's typo into a crash.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from numbers import Real

from formcheck.errors import InputError

PATIENT_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
# ISO date, optionally with a time and a UTC offset; fromisoformat alone also takes other forms,
# down to a run of 400 digits read as 1111-11-11T11:11:11.
ISO_WHEN = re.compile(r"\A\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?\Z", re.ASCII)
MAX_SETS = 20
MAX_REPS = 500
MAX_HOLD_S = 600.0  # ten minutes: longer than any hold a rehab programme prescribes
MAX_PER_WEEK = 14
LEGS = ("left", "right")


def patient_id(value: object) -> str:
    if not isinstance(value, str) or not PATIENT_ID.match(value):
        raise InputError(
            f"bad patient ID {value!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def when(value: str | date | datetime | None) -> str | None:
    """A date or date-time (ISO, e.g. 2025-03-01 or 2025-03-01T09:30) as a sortable ISO string."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    text = str(value).strip()
    try:
        if not ISO_WHEN.match(text):
            raise ValueError(text)
        return datetime.fromisoformat(text).replace(microsecond=0).isoformat()
    except ValueError:
        raise InputError(f"not a date: {value!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None


def pain(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InputError(f"{what} must be a whole number from 0 to 10, got {value!r}")
    return value


def whole(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return value


def number(value: object, what: str, *, low: float = 0.0, high: float = math.inf, zero_ok: bool = False) -> float:
    """A finite real number above `low` (or equal to it with `zero_ok`) and at most `high`."""
    floor = "zero" if low == 0 else f"{low:g}"
    bound = (f"{floor} or more" if zero_ok else f"more than {floor}") + ("" if math.isinf(high) else f", at most {high:g}")
    finite = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(value)
    if not finite or not (value >= low if zero_ok else value > low) or value > high:
        raise InputError(f"{what} must be a finite number, {bound} (got {value!r})")
    return float(value)


def prescription(sets: object, reps: object, hold_s: object, per_week: object, side: object) -> None:
    """Sets x reps, or sets x a hold time, so many sessions a week, optionally for one leg."""
    if (reps is None) == (hold_s is None):
        raise InputError("give either reps or a hold time, not both")
    whole(sets, "sets", 1, MAX_SETS)
    if reps is not None:
        whole(reps, "reps", 1, MAX_REPS)
    if hold_s is not None:
        number(hold_s, "hold time (seconds)", high=MAX_HOLD_S)
    whole(per_week, "sessions per week", 1, MAX_PER_WEEK)
    if side not in (None, *LEGS):
        raise InputError("side must be left or right")


def port(value: object) -> int:
    """A TCP port; 0 asks the system for a free one."""
    return whole(value, "port", 0, 65535)
