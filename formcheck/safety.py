"""The safety questions asked once per user before a first live session (DOMAIN.md, Safety).

formcheck coaches form; it does not diagnose. The rehab guides it follows tell people to get
medical advice first when any of these apply. The answers are kept in a small JSON file in the
user's data folder ($FORMCHECK_HOME, else $XDG_DATA_HOME/formcheck, else ~/.local/share/formcheck)
so the questions come once; a "yes" is not stored, so they are asked again next time.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

ENV_HOME = "FORMCHECK_HOME"
FILE_NAME = "safety.json"
VERSION = 1  # bump when the questions change, so everyone is asked the new ones


@dataclass(frozen=True)
class Question:
    key: str
    text: str  # phrased so that "yes" means: see a clinician first


QUESTIONS: tuple[Question, ...] = (
    Question("no_full_weight", "Are you unable to put your full weight on the leg?"),
    Question("severe_pain", "Do you have severe knee pain?"),
    Question("swelling", "Is the knee badly swollen?"),
    Question("gives_way_or_locks", "Does the knee give way or lock?"),
    Question("limited_range", "Are you unable to bend and straighten the knee fully?"),
)

DISCLAIMER = "formcheck coaches exercise form; it does not diagnose or treat."
ADVICE = (
    "Please get medical advice (a doctor or physiotherapist) before doing these exercises: "
    "you answered yes to a question that calls for it."
)
STOP_RULE = "Stop and get help if the pain gets worse while you exercise."


def data_dir() -> Path:
    """Per-user data folder (not the model cache: this holds answers, not downloads)."""
    explicit = os.environ.get(ENV_HOME)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "formcheck"


def answers_path() -> Path:
    return data_dir() / FILE_NAME


def cleared() -> bool:
    """True when this user has answered the current questions and none applied."""
    path = answers_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s): the safety questions will be asked again", path, exc)
        return False
    answers = data.get("answers") if isinstance(data, dict) else None
    return (
        data.get("version") == VERSION
        and isinstance(answers, dict)
        and all(answers.get(q.key) is False for q in QUESTIONS)
    )


def any_apply(answers: dict[str, bool]) -> bool:
    return any(answers.get(q.key, True) for q in QUESTIONS)


def record(answers: dict[str, bool], method: str) -> Path | None:
    """Store answers when none apply (method "asked" or "--yes"); returns the file, or None if not stored."""
    if any_apply(answers):
        return None
    path = answers_path()
    data = {
        "version": VERSION,
        "answered_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "method": method,
        "answers": {q.key: bool(answers[q.key]) for q in QUESTIONS},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot save the safety answers to %s (%s): they will be asked again next time", path, exc)
        return None
    return path
