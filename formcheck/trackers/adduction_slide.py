"""Hip adduction slides (`adduction-slide`): from the side-lunge position, one knee bent and the other
leg straight out to the side, the straight leg's foot slides in toward the other and back out.

Seen from the front, a slide closes the feet and opens them again. It is counted on the ankles'
image distance in straight-leg lengths (the longest either leg's hip-to-ankle image distance has
been over `leg_window_s`: the standing or straight leg, whichever the camera last saw at full
length), with hysteresis: closed `slide_on` from its widest, then opened `slide_on` from its
closest; it ends once the ankles come no wider for `settle_s`, or close into the next slide. Its
start is the last frame the distance was within `onset` of the widest before it closed; its bottom
the feet at their closest. A foot kept in for `max_in_s` (the person closing the feet to stand
up) was not a slide, and neither is one closed while still in at the end of the recording.

The straight leg is the one whose foot slides: the ankle that moved further in the image from the
slide's start to the feet closing by `slide_on`; the other is the bent leg, the rep's and the one
the live valgus cue watches from then on (loaded while sliding and for `active_s` after, the person
still in position). The pose model's 3D knee angle cannot tell the two apart (config.py); the
image can: a slide whose bent leg's hip-to-ankle image length was not `bent_min_shortening` leg
lengths shorter than the straight one's when it started was made standing straight (feet apart
and together), and is rejected.

Per slide (a `RepWindow` with its `Slide`): the range (how far the foot slid in, leg lengths),
the widest and closest separations, and the bent knee's usual valgus verdict over the slide
(scoring reads it at the bottom and its peak from start to end, `judging/scoring.py`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, RepCompleted, RepRejected, RepStarted, RepWindow, Slide, register
from formcheck.trackers.signals import LegShortening
from formcheck.trackers.stroke import Stroke, StrokeTracker


@dataclass(frozen=True)
class _Sample:
    i: int
    t: float
    sep: float  # ankle distance, straight-leg lengths
    leg_px: float  # the straight-leg length it was measured in
    x: dict[Side, float]  # ankle image x
    length: dict[Side, float]  # hip-to-ankle image length, leg lengths


@register
class AdductionSlideTracker(StrokeTracker):
    name = "adduction-slide"
    description = "hip adduction slides (slides counted, range in leg lengths, the bent knee's valgus)"

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        """`side`: the bent leg when the user names it."""
        super().__init__(side, settings)
        self.p = self.settings.adduction_slide
        self._leg = LegShortening(self.p.leg_window_s)  # for its running maximum
        self._since: deque[_Sample] = deque()  # from the latest still-out frame on
        self._high = -math.inf  # widest distance at rest
        self._start: _Sample | None = None
        self._low: _Sample | None = None
        self._wide: _Sample | None = None
        self._bent: Side | None = side  # the latest slide's bent leg (the one named, if any)

    def _sample(self, i: int, m: Metrics) -> _Sample | None:
        t = float(m.t_s)
        for sd in SIDES:
            self._leg.update(t, float(m.leg(sd).hip_ankle_px))
        unit = self._leg.standing
        gap = math.hypot(float(m.left.ankle_x - m.right.ankle_x), float(m.left.ankle_y - m.right.ankle_y))
        if not (math.isfinite(gap) and math.isfinite(unit) and unit > 0):
            return None
        return _Sample(i, t, gap / unit, unit, {sd: float(m.leg(sd).ankle_x) for sd in SIDES},
                       {sd: float(m.leg(sd).hip_ankle_px) / unit for sd in SIDES})

    def update(self, i: int, m: Metrics) -> list[Event]:
        self._t = float(m.t_s)
        events: list[Event] = []
        s = self._sample(i, m)
        if s is None:
            self._sync()
            return events
        self._since.append(s)
        p = self.p
        if self._stage is Stroke.RETURNING:
            assert self._wide is not None
            if s.sep > self._wide.sep:
                self._wide = s
            elif s.t - self._wide.t >= p.settle_s or s.sep < self._wide.sep - p.slide_on:
                self._complete(events)
        if self._stage is Stroke.GOING:
            assert self._low is not None
            if s.sep < self._low.sep:
                self._low = s
            elif s.sep > self._low.sep + p.slide_on:
                self._stage, self._wide = Stroke.RETURNING, s
            elif s.t - self._low.t > p.max_in_s:  # feet together to stand up, not a slide
                events.append(RepRejected(s.t, "the foot stayed in, so not a slide"))
                self._reset(s)
        if self._stage is Stroke.REST:
            self._high = max(self._high, s.sep)
            if s.sep >= self._high - p.onset:
                self._since = deque([s])  # the latest frame the foot was still out
            elif s.sep < self._high - p.slide_on:
                self._start, self._low = self._since[0], s
                self._stage = Stroke.GOING
                if self.side is None:  # the foot that moved is the straight leg's
                    moved = {sd: abs(s.x[sd] - self._start.x[sd]) for sd in SIDES}
                    self._bent = min(SIDES, key=lambda sd: moved[sd])
                events.append(RepStarted(self.state.reps_done + 1, self._start.t))
        self._sync()
        return events

    def _reset(self, s: _Sample) -> None:
        self._stage, self._high = Stroke.REST, s.sep
        self._since = deque([s])
        self._start = self._low = self._wide = None

    def _complete(self, events: list[Event]) -> None:
        start, low, wide, bent = self._start, self._low, self._wide, self._bent
        assert start is not None and low is not None and wide is not None and bent is not None
        slide = [f for f in self._since if f.i <= wide.i]
        # the slide ends when the foot is back out: the first frame within `onset` of the widest
        end = next(f for f in slide if f.i >= low.i and f.sep >= wide.sep - self.p.onset)
        in_position = start.length[bent.other] - start.length[bent] >= self.p.bent_min_shortening
        after = [f for f in self._since if f.i >= wide.i]
        still = [k for k, f in enumerate(after) if f.sep >= wide.sep - self.p.onset]
        self._reset(wide)
        self._since = deque(after[still[-1]:])  # from the latest frame the foot was still out
        if not in_position:
            events.append(RepRejected(end.t, "no knee bent, so not the side-lunge position"))
            return
        rep = RepWindow(
            index=len(self.state.reps) + 1,
            start_i=start.i, bottom_i=low.i, end_i=end.i,
            start_s=start.t, bottom_s=low.t, end_s=end.t,
            legs=(bent,),
            slide=Slide(bent=bent, straight=bent.other, start_separation=start.sep, min_separation=low.sep,
                        leg_px=low.leg_px),
        )  # fmt: skip
        self.state.reps.append(rep)
        self._last_end_t = end.t
        events.append(RepCompleted(rep))

    def _sync(self) -> None:
        super()._sync()
        self.state.working_legs = (self._bent,) if self._bent is not None else ()
