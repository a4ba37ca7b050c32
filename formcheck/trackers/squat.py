"""Bilateral squat (banded or not): both legs carry every rep."""

from __future__ import annotations

from formcheck.landmarks import SIDES, Side
from formcheck.metrics import Metrics
from formcheck.trackers.base import Event, RepCompleted, RepWindow, Tracker, register
from formcheck.trackers.rep_counter import RepCounter, RepParams
from formcheck.trackers.signals import LegShortening, mean_hip_ankle_px

# In percent of standing hip-ankle length. Measured: real squats shorten the legs by 25-60 %,
# the synthetic bench's moderate squats by 17-20 %; shifting weight or fidgeting, under 5 %.
SQUAT_PARAMS = RepParams(enter=10.0, onset=3.0, onset_rate=4.0)


@register
class SquatTracker(Tracker):
    """Counts squats on how far the legs shorten in the image (see `LegShortening`)."""

    name = "squat"
    description = "bilateral squat, banded or not (both legs)"

    def __init__(self, side: Side | None = None, params: RepParams = SQUAT_PARAMS) -> None:
        super().__init__(side)  # both legs work in a squat: a named side changes nothing
        self.counter = RepCounter(params)
        self.depth = LegShortening()
        self.state.working_legs = SIDES

    def update(self, i: int, m: Metrics) -> list[Event]:
        d = mean_hip_ankle_px(float(m.left.hip_ankle_px), float(m.right.hip_ankle_px))
        x = self.depth.update(float(m.t_s), d)
        events, done = self.counter.update(i, float(m.t_s), x)
        self._record(events, done)
        return events

    def finish(self) -> list[Event]:
        events, done = self.counter.finish()
        self._record(events, done)
        return events

    def _record(self, events: list[Event], done) -> None:  # noqa: ANN001 - CountedRep | None
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

    @property
    def loaded(self) -> bool:
        return self.counter.loading

    def _sync(self) -> None:
        self.state.phase = self.counter.phase
        self.state.reps_done = len(self.state.reps)
        self.state.rep_in_progress = self.counter.rep_index if self.counter.in_rep else None
