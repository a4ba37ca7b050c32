"""Pivots (`pivot`): walk in, plant the painful side's foot, pivot (turn the body) away from it, walk off.

A pivot is counted on the shoulder line's rotation about the vertical (`Metrics.heading_deg`, from
the world landmarks): turned `turn_on` degrees from where it was last still (within `onset_deg`),
within `max_drift_s`, starting while the person faced the camera (`face_max_deg`: the turn back
toward the camera after walking off is not a plant). It ends once the shoulders come no further
round for `settle_s`; the trunk turn is the rotation from the plant to there.

Each ankle is moving once it travelled `move_on` body lengths in the image within `still_s`, and
at rest again (a touch-down, dated to the start of that still stretch) once it travelled under
`still_on`. The planted leg is the one whose ankle moved least over the turn; the plant, its last
touch-down within `lookback_s` before the turn (or the turn's start if it stood there all along).

Per pivot (a `RepWindow` with its `Plant`): the planted knee's valgus at the plant (scoring reads
FPPA at the plant and its peak over `plant_window_s`, over that window's view alone: the person is
turned away by the end) and the trunk turn. Live, a knee is loaded for `active_s` after its foot
came to rest and while the body turns, so a caving plant is cued on the planted knee as it lands.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, Phase, Plant, RepCompleted, RepStarted, RepWindow, Tracker, register


class _Stage(enum.Enum):
    STILL = "still"  # the shoulders still (walking in, or standing)
    TURNING = "turning"


@dataclass(frozen=True)
class _Sample:
    i: int
    t: float
    heading: float
    ankle: dict[Side, tuple[float, float]]  # image position, pixels
    body: float  # body length, pixels


def _travel(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _turned(a: float, b: float) -> float:
    """Degrees between two headings, across the +-180 seam."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


@register
class PivotTracker(Tracker):
    name = "pivot"
    description = "pivots on a planted foot (plants per leg, valgus at the plant, trunk turn)"

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        """`side`: the planted leg when the user names it."""
        super().__init__(side, settings)
        self.p = self.settings.pivot
        self._recent: deque[_Sample] = deque()  # the last lookback_s + still_s
        self._moving = {s: False for s in SIDES}
        self._rest: dict[Side, _Sample | None] = {s: None for s in SIDES}  # each ankle's latest touch-down
        self._stage = _Stage.STILL
        self._anchor: _Sample | None = None  # where the shoulders were still
        self._still: _Sample | None = None  # the latest frame within onset_deg of it
        self._far: _Sample | None = None  # the turn's furthest so far
        self._t = -math.inf

    def _sample(self, i: int, m: Metrics) -> _Sample | None:
        body = float(m.body_px)
        h = float(m.heading_deg)
        ankle = {s: (float(m.leg(s).ankle_x), float(m.leg(s).ankle_y)) for s in SIDES}
        if not (math.isfinite(body) and body > 0 and math.isfinite(h) and all(map(math.isfinite, sum(ankle.values(), ())))):
            return None
        return _Sample(i, float(m.t_s), h, ankle, body)

    def _feet(self, s: _Sample) -> None:
        """Each ankle's moving/at-rest state, and the touch-downs."""
        back = [f for f in self._recent if s.t - f.t <= self.p.still_s + 1e-9]
        for sd in SIDES:
            # in pixels over the current body length: the length itself changes as the knees bend
            travel = max(_travel(f.ankle[sd], s.ankle[sd]) for f in back) / s.body
            if travel >= self.p.move_on:
                self._moving[sd] = True
            elif self._moving[sd] and travel < self.p.still_on:
                self._moving[sd] = False
                self._rest[sd] = back[0]  # it has not moved since

    def update(self, i: int, m: Metrics) -> list[Event]:
        self._t = float(m.t_s)
        events: list[Event] = []
        s = self._sample(i, m)
        if s is None:
            self._sync()
            return events
        self._recent.append(s)
        while s.t - self._recent[0].t > self.p.lookback_s + self.p.still_s:
            self._recent.popleft()
        self._feet(s)
        p = self.p
        if self._stage is _Stage.TURNING:
            assert self._anchor is not None and self._far is not None
            if _turned(s.heading, self._anchor.heading) > _turned(self._far.heading, self._anchor.heading):
                self._far = s
            elif s.t - self._far.t >= p.settle_s:
                self._complete(events)
                self._anchor = self._still = s
        if self._stage is _Stage.STILL:
            if self._anchor is None:
                self._anchor = self._still = s
            turned = _turned(s.heading, self._anchor.heading)
            assert self._still is not None
            if turned <= p.onset_deg:
                self._still = s
            elif turned >= p.turn_on and abs(self._anchor.heading) <= p.face_max_deg:
                self._stage, self._far = _Stage.TURNING, s
                events.append(RepStarted(self.state.reps_done + 1, self._still.t))
            elif s.t - self._still.t > p.max_drift_s:  # turned slowly, or back from a pivot: start afresh
                self._anchor = self._still = s
        self._sync()
        return events

    def _complete(self, events: list[Event]) -> None:
        start, far = self._still, self._far
        assert start is not None and far is not None
        turn = [f for f in self._recent if start.i <= f.i <= far.i]
        if self.side is not None:
            leg = self.side
        else:
            leg = min(SIDES, key=lambda sd: max(_travel(f.ankle[sd], start.ankle[sd]) for f in turn))  # pixels: same body
        rest = self._rest[leg]
        plant = rest if rest is not None and rest.i <= start.i and start.t - rest.t <= self.p.lookback_s else start
        window = sum(1 for f in self._recent if 0 < f.t - plant.t <= self.p.plant_window_s + 1e-9)
        rep = RepWindow(
            index=len(self.state.reps) + 1,
            start_i=plant.i, bottom_i=plant.i, end_i=far.i,
            start_s=plant.t, bottom_s=plant.t, end_s=far.t,
            legs=(leg,),
            plant=Plant(leg=leg, window_frames=window, turn_deg=_turned(far.heading, plant.heading), turn_start_i=start.i),
        )  # fmt: skip
        self.state.reps.append(rep)
        self._stage, self._far = _Stage.STILL, None
        events.append(RepCompleted(rep))

    def finish(self) -> list[Event]:
        """A pivot still turning when the recording ended counts, to its furthest so far."""
        events: list[Event] = []
        if self._stage is _Stage.TURNING:
            self._complete(events)
        self._sync()
        return events

    def _landed(self) -> tuple[Side, ...]:
        """Legs whose foot came to rest within `active_s` (the named leg only, if one is)."""
        legs = tuple(sd for sd in SIDES if (r := self._rest[sd]) is not None and not self._moving[sd]
                     and self._t - r.t <= self.p.active_s)  # fmt: skip
        return tuple(sd for sd in legs if sd is self.side) if self.side is not None else legs

    def _sync(self) -> None:
        st = self.state
        st.reps_done = len(st.reps)
        turning = self._stage is _Stage.TURNING
        st.rep_in_progress = st.reps_done + 1 if turning else None
        st.phase = Phase.DESCENT if turning else Phase.STANDING
        landed = self._landed()
        if turning and not landed:
            landed = (self.side,) if self.side is not None else tuple(sd for sd in SIDES if not self._moving[sd])
        st.working_legs = landed

    @property
    def loaded(self) -> bool:
        return bool(self.state.working_legs)
