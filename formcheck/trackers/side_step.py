"""Sideways stepping: the band side-shuffle (`band-walk`) and side pushes (`side-push`).

Seen from the front, a sideways step opens the feet and closes them again: the leading foot steps
out (the ankles' image distance grows), the trailing leg pushes the body over and its foot
follows (the distance shrinks). A step is counted on that distance, in body lengths, with
hysteresis: opened `step_on` beyond its last closest, then closed `step_on` from its widest; it
ends once the ankles come no closer for `settle_s`, or open into the next step. Its push-off is
the last frame the distance was within `onset` of the closest before it opened. The leading foot
is the ankle that moved further sideways from push-off to the widest; its side is the step's
direction, the person's own left or right, so a mirrored video or a person facing away counts
the same. Feet held apart for `max_open_s` without the trailing foot following were a wider
stance, not a step. A leading foot clearly lifted (`FootLift` 1) on every frame the feet were
within `onset` of their widest, and then brought back itself (it, not the trailing foot, closed
the gap), was a leg swung out and back in the air, the free leg of a single-leg catch: rejected.

Nothing reads where in the frame the person stands: crossing the frame is what the exercise does.

Per step (a `RepWindow` with its `SideStep`): the working knees' push-off valgus (scoring reads
FPPA at push-off and its peak over `push_off_window_s` after it); the narrowest ankle distance
while the trailing foot closed in, in standing hip widths (the widest the hip landmarks have been
over `hip_window_s`, steady from the front whatever the legs do); and the least knee flexion
(both knees' mean, 3D) from push-off to the step's end: the depth the person held.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, RepCompleted, RepRejected, RepStarted, RepWindow, SideStep, register
from formcheck.trackers.signals import FootLift, LegShortening
from formcheck.trackers.stroke import Stroke, StrokeTracker


@dataclass(frozen=True)
class _Sample:
    i: int
    t: float
    sep: float  # ankle distance, body lengths
    x: dict[Side, float]  # ankle image x
    apart: float  # ankle distance, standing hip widths
    flexion: float  # both knees' mean 3D flexion
    lift: dict[Side, float]  # each foot off the floor, 0-1 (FootLift; NaN unseen)


class SideStepTracker(StrokeTracker):
    """Steps sideways counted on the ankles' distance; subclasses say which knees work and whether
    the feet-apart rule is cued."""

    working_both = True  # band-walk: trailing and leading knee; side-push: the pushing knee
    band_rule = False  # the live "keep the band tight" cue reads `state.feet_apart`

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.p = self.settings.side_step
        self._hips = LegShortening(self.p.hip_window_s)  # for its running maximum
        self._lift = FootLift(self.settings.standing_window_s)
        self._since: deque[_Sample] = deque()  # from the latest push-off candidate on
        self._low: float = math.inf  # closest distance at rest
        self._push: _Sample | None = None
        self._wide: _Sample | None = None
        self._close: _Sample | None = None
        self.state.working_legs = SIDES

    def _sample(self, i: int, m: Metrics) -> _Sample | None:
        t = float(m.t_s)
        x = {s: float(m.leg(s).ankle_x) for s in SIDES}
        body = float(m.body_px)
        hips = float(m.hip_width_px)
        if math.isfinite(hips) and hips > 0:
            self._hips.update(t, hips)
        gap = abs(x[Side.LEFT] - x[Side.RIGHT])
        lift = self._lift.update(m)
        if not (math.isfinite(gap) and math.isfinite(body) and body > 0):
            return None
        ref = self._hips.standing
        flex = [float(m.leg(s).flexion_deg) for s in SIDES]
        known = [f for f in flex if math.isfinite(f)]
        return _Sample(i, t, gap / body, x, gap / ref if math.isfinite(ref) and ref > 0 else math.nan,
                       sum(known) / len(known) if known else math.nan, lift)

    def update(self, i: int, m: Metrics) -> list[Event]:
        self._t = float(m.t_s)
        events: list[Event] = []
        s = self._sample(i, m)
        if s is None:
            self.state.feet_apart = None  # feet not seen: nothing to judge the band on
            self._sync()
            return events
        self.state.feet_apart = (s.apart if math.isfinite(s.apart) else None) if self.band_rule else None
        self._since.append(s)
        p = self.p
        if self._stage is Stroke.RETURNING:
            assert self._close is not None
            if s.sep < self._close.sep:
                self._close = s
            elif s.t - self._close.t >= p.settle_s or s.sep > self._close.sep + p.step_on:
                self._complete(events)
        if self._stage is Stroke.GOING:
            assert self._wide is not None
            if s.sep > self._wide.sep:
                self._wide = s
            elif s.sep < self._wide.sep - p.step_on:
                self._stage, self._close = Stroke.RETURNING, s
            elif s.t - self._wide.t > p.max_open_s:  # a wider stance, not a step
                self._reset(s)
        if self._stage is Stroke.REST:
            self._low = min(self._low, s.sep)
            if s.sep <= self._low + p.onset:
                self._since = deque([s])  # the latest frame the feet were still
            elif s.sep > self._low + p.step_on:
                self._push, self._wide = self._since[0], s
                self._stage = Stroke.GOING
                events.append(RepStarted(self.state.reps_done + 1, self._push.t))
        self._sync()
        return events

    def _reset(self, s: _Sample) -> None:
        self._stage, self._low = Stroke.REST, s.sep
        self._since = deque([s])
        self._push = self._wide = self._close = None

    def _complete(self, events: list[Event]) -> None:
        push, wide, close = self._push, self._wide, self._close
        assert push is not None and wide is not None and close is not None
        moved = {sd: abs(wide.x[sd] - push.x[sd]) for sd in SIDES}
        lead = max(SIDES, key=lambda sd: moved[sd])
        step = [f for f in self._since if f.i <= close.i]
        aloft = all(f.lift[lead] >= 1.0 for f in step if f.sep >= wide.sep - self.p.onset)  # NaN: not aloft
        closed_by_lead = abs(close.x[lead] - wide.x[lead]) > abs(close.x[lead.other] - wide.x[lead.other])
        if aloft and closed_by_lead:
            events.append(RepRejected(close.t, "the leading foot never touched down (a leg swung out and back, not a step)"))
        else:
            self._count(events, push, wide, close, lead, step)
        after = [f for f in self._since if f.i >= close.i]
        still = [k for k, f in enumerate(after) if f.sep <= close.sep + self.p.onset]
        self._reset(close)
        self._since = deque(after[still[-1]:])  # from the latest frame the feet were still

    def _count(self, events: list[Event], push: _Sample, wide: _Sample, close: _Sample, lead: Side,
               step: list[_Sample]) -> None:
        trail = lead.other
        # the step ends when the trailing foot arrived: the first frame within `onset` of the closest
        end = next(f for f in step if f.i >= wide.i and f.sep <= close.sep + self.p.onset)
        closing = [f for f in step if f.i >= wide.i and math.isfinite(f.apart)]
        narrowest = min(closing, key=lambda f: f.apart) if closing and self.band_rule else None
        flex = [f.flexion for f in step if math.isfinite(f.flexion)]
        window = sum(1 for f in step if 0 < f.t - push.t <= self.p.push_off_window_s + 1e-9)
        if self.side is not None:
            legs: tuple[Side, ...] = (self.side,)
        else:
            legs = SIDES if self.working_both else (trail,)
        rep = RepWindow(
            index=len(self.state.reps) + 1,
            start_i=push.i, bottom_i=push.i, end_i=end.i,
            start_s=push.t, bottom_s=push.t, end_s=end.t,
            legs=legs,
            step=SideStep(
                direction=lead, pushing=trail, window_frames=window,
                min_separation=narrowest.apart if narrowest else None,
                min_separation_i=narrowest.i if narrowest else None,
                flexion_held_deg=min(flex) if flex else None,
            ),
        )  # fmt: skip
        self.state.reps.append(rep)
        self._last_end_t = end.t
        events.append(RepCompleted(rep))


@register
class BandWalkTracker(SideStepTracker):
    name = "band-walk"
    description = "band side-shuffle (steps per direction, feet kept apart, push-off valgus of both knees)"
    working_both = True
    band_rule = True


@register
class SidePushTracker(SideStepTracker):
    name = "side-push"
    description = "side pushes (pushes per direction, push-off valgus of the pushing leg)"
    working_both = False
