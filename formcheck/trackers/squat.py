"""Bilateral squat (banded or not): both legs carry every rep."""

from __future__ import annotations

import math

import numpy as np

from formcheck.landmarks import SIDES
from formcheck.metrics import Metrics
from formcheck.trackers.base import Event, RepCompleted, RepWindow, Tracker, register
from formcheck.trackers.rep_counter import RepCounter, RepParams


@register
class SquatTracker(Tracker):
    """Counts squats on mean knee flexion of the world landmarks.

    Flexion from the 3D landmarks does not foreshorten when the thigh points at the camera (the
    2D knee angle does) and needs no body-size normalisation, so it works from the front and the
    side alike.
    """

    name = "squat"
    description = "bilateral squat, banded or not (both legs)"

    def __init__(self, params: RepParams = RepParams()) -> None:
        super().__init__()
        self.counter = RepCounter(params)
        self.state.working_legs = SIDES

    def update(self, i: int, m: Metrics) -> list[Event]:
        flex = [float(m.leg(s).flexion_deg) for s in SIDES]
        valid = [f for f in flex if not math.isnan(f)]
        x = float(np.mean(valid)) if valid else math.nan
        events, done = self.counter.update(i, float(m.t_s), x)
        if done is not None:
            rep = RepWindow(
                index=len(self.state.reps) + 1,
                start_i=done.start[0],
                bottom_i=done.bottom[0],
                end_i=done.end[0],
                start_s=done.start[1],
                bottom_s=done.bottom[1],
                end_s=done.end[1],
                legs=SIDES,
            )
            self.state.reps.append(rep)
            events.append(RepCompleted(rep))
        self._sync()
        return events

    def finish(self) -> list[Event]:
        events = self.counter.finish()
        self._sync()
        return events

    @property
    def loaded(self) -> bool:
        return self.counter.loading

    def _sync(self) -> None:
        self.state.phase = self.counter.phase
        self.state.reps_done = len(self.state.reps)
        self.state.rep_in_progress = self.counter.rep_index if self.counter.in_rep else None
