"""Session store (SQLite): patients, prescriptions, per-patient thresholds and recorded sessions.

`record_session(out_dir, patient_id, ...)` is what `analyze --patient` and `live --patient` call
after a run; `Store` is the full interface (reports and the dashboard read through it).
"""

from formcheck.clinic.store.db import StoreError, default_db_path
from formcheck.clinic.store.store import (
    SAFETY_QUESTIONS,
    Recorded,
    Store,
    known_exercises,
    parse_safety,
    parse_when,
    progression_order,
    record_session,
    session_landings,
    session_plants,
    session_progressions,
    session_rom,
    session_slides,
    session_steps,
    thresholds_for,
)

__all__ = [
    "SAFETY_QUESTIONS",
    "Recorded",
    "Store",
    "StoreError",
    "default_db_path",
    "known_exercises",
    "parse_safety",
    "parse_when",
    "progression_order",
    "record_session",
    "session_landings",
    "session_plants",
    "session_progressions",
    "session_rom",
    "session_slides",
    "session_steps",
    "thresholds_for",
]
