"""The safety questions (DOMAIN.md, Safety): asked once per user before a first live session,
and stored with each session a therapist records.

formcheck coaches form; it does not diagnose. The rehab guides it follows tell people to get
medical advice first when any of these apply. The live loop keeps the answers in a small JSON
file in the user's data folder ($FORMCHECK_HOME, else platformdirs' per-user data folder) so the
questions come once; an answer that calls for advice is not stored, so they are asked again.
This list is the only one: the session store and the dashboard read it too.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from platformdirs import user_data_path

log = logging.getLogger(__name__)

ENV_HOME = "FORMCHECK_HOME"
FILE_NAME = "safety.json"
VERSION = 2  # bump when the questions change, so everyone is asked the new ones


@dataclass(frozen=True)
class Question:
    key: str  # as stored in the session database: never rename
    text: str
    concern: bool  # the answer that means: get medical advice first
    safe: str  # what the other answer says, for "--yes: you confirm ..."
    before: bool = True  # asked before exercising (False: after it)


QUESTIONS: tuple[Question, ...] = (
    Question("full_weight", "Can you put your full weight on the leg?", False, "you can put your full weight on the leg"),
    Question("severe_pain", "Is the pain severe?", True, "the pain is not severe"),
    Question("swelling", "Is the knee very swollen?", True, "the knee is not very swollen"),
    Question("gives_way", "Does the knee give way or lock?", True, "it does not give way or lock"),
    Question("full_range", "Can you bend and straighten the knee through its full range?", False,
             "you can bend and straighten it through its full range"),  # fmt: skip
    Question("pain_worse", "Did the pain get worse during the exercise?", True, "the pain did not get worse", before=False),
)
BEFORE: tuple[Question, ...] = tuple(q for q in QUESTIONS if q.before)
BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}


DISCLAIMER = "formcheck coaches exercise form; it does not diagnose or treat."
ADVICE = (
    "Please get medical advice (a doctor or physiotherapist) before doing these exercises: "
    "you answered yes to a question that calls for it."
)
STOP_RULE = "Stop and get help if the pain gets worse while you exercise."


def data_dir() -> Path:
    """Per-user data folder (not the model cache: this holds answers, not downloads)."""
    explicit = os.environ.get(ENV_HOME)
    return Path(explicit).expanduser() if explicit else user_data_path("formcheck", appauthor=False)


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
        and not any_apply(answers)
    )


def any_apply(answers: dict[str, bool]) -> bool:
    """Whether an answer before exercising calls for advice (a question left out counts as one)."""
    return any(answers.get(q.key, q.concern) == q.concern for q in BEFORE)


def all_clear() -> dict[str, bool]:
    """The answers of someone to whom none of the questions before exercising apply."""
    return {q.key: not q.concern for q in BEFORE}


def record(answers: dict[str, bool], method: str) -> Path | None:
    """Store answers when none apply (method "asked" or "--yes"); returns the file, or None if not stored."""
    if any_apply(answers):
        return None
    path = answers_path()
    data = {
        "version": VERSION,
        "answered_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "method": method,
        "answers": {q.key: bool(answers[q.key]) for q in BEFORE},
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
