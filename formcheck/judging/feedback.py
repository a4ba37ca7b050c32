"""What the live window says besides the knee colours: set progress, per-rep verdicts, hold timer, keys.

`Coach` turns the pipeline's per-frame output (tracker events, active cues, tracker state) into
the set/rep progress and short sentences worth saying aloud. `Controls` maps keys to actions.
Both are pure state machines so they are tested without a camera or a window.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from formcheck.core.landmarks import Side
from formcheck.judging.cues import BandCue, Cue
from formcheck.trackers import Event, Phase, RepCompleted, RepRejected, TrackerState

VERDICT_SHOW_S = 2.5  # how long a rep's verdict stays on screen
HOLD_TARGET_S = 30.0  # single-leg balance: DOMAIN.md's 30 s


@dataclass(frozen=True)
class RepVerdict:
    index: int  # the rep's number in the whole session
    end_s: float
    caved: tuple[Side, ...]  # legs whose cue fired during the rep

    @property
    def good(self) -> bool:
        return not self.caved

    @property
    def text(self) -> str:
        if self.good:
            return f"Rep {self.index}: good, knees over the feet"
        legs = " and ".join(s.value for s in self.caved)
        return f"Rep {self.index}: {legs} knee{'s' if len(self.caved) > 1 else ''} caved in"


@dataclass(frozen=True)
class CoachStatus:
    reps_done: int  # counted live in the whole session
    set_number: int  # 1-based, the set being done (or the last one when all are done)
    sets: int
    reps_in_set: int
    target_reps: int
    all_sets_done: bool
    verdict: RepVerdict | None  # the latest, while it is fresh
    hold_s: float | None  # seconds into the current hold (balance), None when not holding
    hold_leg: Side | None
    last_hold_s: float | None

    def progress_line(self) -> str:
        if self.all_sets_done:
            return f"All {self.sets} sets done ({self.reps_done} reps): press q to finish"
        return f"Set {self.set_number}/{self.sets}   rep {self.reps_in_set}/{self.target_reps}"


class Coach:
    """Set and rep progress against `--reps`/`--sets`, verdicts, and a hold timer."""

    def __init__(self, target_reps: int = 8, target_sets: int = 3) -> None:
        if target_reps < 1 or target_sets < 1:
            raise ValueError("reps and sets must be at least 1")
        self.target_reps = target_reps
        self.target_sets = target_sets
        self.reps_done = 0
        self.set_number = 1
        self.reps_in_set = 0
        self.all_sets_done = False
        self.verdicts: list[RepVerdict] = []
        self._caved: set[Side] = set()  # legs cued since the last rep ended
        self._hold_start: float | None = None
        self._hold_leg: Side | None = None
        self._last_hold_s: float | None = None
        self._hold_announced = False
        self._t = 0.0

    def update(self, t_s: float, events: Sequence[Event], cues: Sequence[Cue | BandCue], state: TrackerState) -> list[str]:
        """Feed one analysed frame; returns sentences to say aloud (set done, hold done...)."""
        self._t = t_s
        say: list[str] = []
        self._caved.update(c.leg for c in cues if c.leg is not None)  # a band cue is about the feet
        for e in events:
            if isinstance(e, RepCompleted):
                verdict = RepVerdict(self.reps_done + 1, e.rep.end_s, tuple(sorted(self._caved, key=lambda s: s.value)))
                self.verdicts.append(verdict)
                self._caved.clear()
                say += self._count_rep()
            elif isinstance(e, RepRejected):
                self._caved.clear()
        say += self._hold(t_s, state)
        return say

    def _count_rep(self) -> list[str]:
        self.reps_done += 1
        self.reps_in_set += 1
        if self.all_sets_done or self.reps_in_set < self.target_reps:
            return []
        if self.set_number >= self.target_sets:
            self.all_sets_done = True
            return ["All sets done. Well done."]
        done = self.set_number
        self.set_number += 1
        self.reps_in_set = 0
        return [f"Set {done} done. Rest, then start set {self.set_number}."]

    def _hold(self, t_s: float, state: TrackerState) -> list[str]:
        if state.phase is Phase.HOLD:
            if self._hold_start is None:
                self._hold_start = t_s
                self._hold_leg = state.working_legs[0] if len(state.working_legs) == 1 else None
                self._hold_announced = False
            elif not self._hold_announced and t_s - self._hold_start >= HOLD_TARGET_S:
                self._hold_announced = True
                return [f"{HOLD_TARGET_S:.0f} seconds. Well held."]
        elif self._hold_start is not None:
            self._last_hold_s = t_s - self._hold_start
            self._hold_start = None
        return []

    def reset_set(self) -> None:
        """`r`: start the current set again (the session's files still list every rep)."""
        self.reps_in_set = 0
        self.all_sets_done = False

    def status(self, now_s: float | None = None) -> CoachStatus:
        now = self._t if now_s is None else now_s
        verdict = self.verdicts[-1] if self.verdicts and now - self.verdicts[-1].end_s <= VERDICT_SHOW_S else None
        return CoachStatus(
            reps_done=self.reps_done,
            set_number=self.set_number,
            sets=self.target_sets,
            reps_in_set=self.reps_in_set,
            target_reps=self.target_reps,
            all_sets_done=self.all_sets_done,
            verdict=verdict,
            hold_s=None if self._hold_start is None else max(0.0, now - self._hold_start),
            hold_leg=self._hold_leg,
            last_hold_s=self._last_hold_s,
        )


class Action(str, enum.Enum):
    NONE = "none"
    PAUSE = "pause"
    RESUME = "resume"
    RESET_SET = "reset set"
    QUIT = "quit"


KEY_ESC = 27


class Controls:
    """Keys of the live window: space pauses/resumes, r resets the set, q or Esc ends."""

    def __init__(self) -> None:
        self.paused = False
        self.quit = False

    def key(self, code: int) -> Action:
        """`code` as cv2.waitKey returns it (-1 for no key)."""
        if code < 0 or self.quit:
            return Action.NONE
        ch = code & 0xFF
        if ch in (ord("q"), ord("Q"), KEY_ESC):
            self.quit = True
            return Action.QUIT
        if ch == ord(" "):
            self.paused = not self.paused
            return Action.PAUSE if self.paused else Action.RESUME
        if ch in (ord("r"), ord("R")):
            return Action.RESET_SET
        return Action.NONE
