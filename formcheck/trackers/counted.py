"""A tracker that counts reps on one scalar signal and decides each rep's working leg(s).

Every counted exercise is the same machine (`RepCounter` hysteresis on a body-size-normalised
signal) with two exercise-specific parts: `signal(m)`, the "depth" that rises as a rep goes
and falls back when it ends, and `leg_evidence(m)`, a per-leg score, higher for the leg doing
the work on that frame. Evidence is summed over the rep's loaded frames (signal past half its
range), so a rep's leg is decided by what the legs did while the rep was hard, not by how the
person stood between reps. A named side (`--side`) overrides the evidence.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, RepCompleted, RepStarted, RepWindow, Tracker
from formcheck.trackers.rep_counter import CountedRep, RepCounter, RepParams
from formcheck.trackers.signals import PerLegShortening

Evidence = dict[Side, float]
Trace = list[tuple[int, float, float, Evidence]]  # (frame, t_s, signal, evidence)


class CountedTracker(Tracker):
    """Base for trackers that count reps on `signal` (subclasses name their `levels`)."""

    levels: str = "leg_shortening"  # which of TrackerConfig's RepLevels this signal uses
    both_legs: bool = False  # bilateral exercises: every rep belongs to both legs
    # Which frames of a rep tell its working leg: "loaded" (past half depth, where the working leg
    # carries the body) or "approach" (from the start until the signal first comes within 10 % of
    # its extreme: a step-up's rise, where only the free foot travels; at the top both feet stand
    # still on the step, however long the person stays there), or "rep" (every frame of the rep: a
    # single-leg squat's free foot moves on the way down and up).
    leg_judged_on: str = "loaded"

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        s = self.settings
        self.counter = RepCounter(RepParams.from_config(s, getattr(s, self.levels)))
        self._trace: deque[tuple[int, float, float, Evidence]] = deque()  # (i, t, signal, evidence)
        self.per_leg = PerLegShortening(s.standing_window_s)
        self._short: dict[Side, float] = {s: math.nan for s in SIDES}  # this frame's, per leg
        self.state.working_legs = SIDES if self.both_legs else ((side,) if side else ())
        self._undecided: list[int] = []  # reps whose legs are decided by their neighbours at the end

    # -- what a subclass defines -------------------------------------------------------------
    def signal(self, m: Metrics) -> float:
        """The depth signal for this frame (NaN when it cannot be read)."""
        raise NotImplementedError

    def leg_evidence(self, m: Metrics) -> Evidence:
        """Per-leg score for this frame, higher for the working leg (NaN: no opinion)."""
        return {s: math.nan for s in SIDES}

    def rep_extras(self, rep: RepWindow, trace: Trace) -> RepWindow:
        """Hook to add exercise-specific timing (holds) to a finished rep."""
        return rep

    # -- the machine -------------------------------------------------------------------------
    def update(self, i: int, m: Metrics) -> list[Event]:
        t = float(m.t_s)
        self._short = self.per_leg.update(m)
        x = self.signal(m)
        ev = {} if self.both_legs else self.leg_evidence(m)
        self._trace.append((i, t, x, ev))
        while self._trace and self._trace[0][1] < t - self.settings.rep_history_s:
            self._trace.popleft()
        events, done = self.counter.update(i, t, x)
        self._record(events, done)
        return events

    def finish(self) -> list[Event]:
        events, done = self.counter.finish()
        self._record(events, done)
        self._revisit_undecided()
        return events

    def _legs_for(self, done: CountedRep, trace: Trace) -> tuple[Side, ...] | None:
        """The leg with the higher mean evidence over the rep's frames that tell it (`leg_judged_on`),
        compared only on frames where both legs were measured (a leg hidden under a caption has no
        say, and the other leg's misplaced landmarks must not win by default); None when too few
        such frames."""
        if self.both_legs:
            return SIDES
        if self.side is not None:
            return (self.side,)
        floor, bottom = done.start[2], done.bottom[2]
        half = floor + 0.5 * (bottom - floor)
        score = {s: 0.0 for s in SIDES}
        loaded = both = 0
        near_top = floor + 0.9 * (bottom - floor)
        for _, _, x, ev in trace:
            if self.leg_judged_on == "approach" and x >= near_top:
                break
            if self.leg_judged_on == "loaded" and not x >= half:
                continue
            loaded += 1
            values = {s: ev.get(s, math.nan) for s in SIDES}
            if all(math.isfinite(v) for v in values.values()):
                both += 1
                for s in SIDES:
                    score[s] += values[s]
        # (stepdown_oblique_01's first rep, under a caption hiding the feet: under 10 % of frames)
        if both == 0 or both < self.settings.min_compared_share * loaded:
            return None
        return (max(SIDES, key=lambda s: score[s]),)

    def _revisit_undecided(self) -> None:
        """Reps whose legs could not be told apart take the legs of the nearest rep that could
        (the working leg rarely changes between neighbouring reps); with none, both legs."""
        reps = self.state.reps
        decided = [k for k, r in enumerate(reps) if k not in self._undecided]
        for k in self._undecided:
            legs = reps[min(decided, key=lambda j: (abs(j - k), j))].legs if decided else SIDES
            reps[k] = dataclasses.replace(reps[k], legs=legs)
        self._undecided = []

    def _record(self, events: list[Event], done: CountedRep | None) -> None:
        if done is not None:
            trace = [e for e in self._trace if done.start[0] <= e[0] <= done.end[0]]
            legs = self._legs_for(done, trace)
            if legs is None:
                self._undecided.append(len(self.state.reps))
                legs = self.state.working_legs or SIDES  # for now: the leg of the last reps
            rep = RepWindow(
                index=len(self.state.reps) + 1,
                start_i=done.start[0],
                bottom_i=done.bottom[0],
                end_i=done.end[0],
                start_s=done.start[1],
                bottom_s=done.bottom[1],
                end_s=done.end[1],
                legs=legs,
            )
            rep = self.rep_extras(rep, trace)
            self.state.reps.append(rep)
            if not self.both_legs and self.side is None:
                self.state.working_legs = legs
            # Before a RepStarted of the same frame (back-to-back reps split at a trough).
            started = next((k for k, e in enumerate(events) if isinstance(e, RepStarted)), len(events))
            events.insert(started, RepCompleted(rep))
        self._sync()

    @property
    def loaded(self) -> bool:
        return self.counter.loading

    def _sync(self) -> None:
        self.state.phase = self.counter.phase
        self.state.reps_done = len(self.state.reps)
        self.state.rep_in_progress = self.counter.rep_index if self.counter.in_rep else None
