"""Single-leg balance: which leg stands, when the hold starts and ends, and touch-downs.

The free foot is "up" while its ankle sits higher in the image than the stance ankle by more
than `lift_on` body lengths, and back "down" under `lift_off` (hysteresis against jitter). A
foot that comes down and goes back up within `touchdown_max_s` is a touch-down inside the same
hold; down for longer ends the hold. Holds shorter than `min_hold_s` (a step while walking in,
a stumble) are not holds. Height differences are in body lengths (shoulders to ankles), so
the thresholds mean the same near and far from the camera.
"""

from __future__ import annotations

import math

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import (
    Event,
    HoldEnded,
    HoldStarted,
    HoldWindow,
    Phase,
    Tracker,
    register,
)
from formcheck.trackers.signals import ankle_drop


@register
class BalanceTracker(Tracker):
    name = "balance"
    description = "single-leg balance hold (stance leg, hold time, touch-downs, sway)"
    counts_holds = True

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.p = self.settings.balance
        self._stance: Side | None = None
        self._start: tuple[int, float] | None = None  # first frame of the hold
        self._last_up: tuple[int, float] | None = None  # last frame the foot was up
        self._down_at: tuple[int, float] | None = None  # foot came down (touch-down or end?)
        self._touchdowns: list[float] = []
        self._up = False
        self._last_t = 0.0
        self.state.working_legs = (side,) if side else ()

    def _lift(self, m: Metrics) -> tuple[Side | None, float]:
        """(stance leg, how far the free ankle is above it); the stance leg is the named side, or
        the leg standing in the current hold, or the lower ankle."""
        stance = self.side or self._stance
        if stance is None:
            drop = ankle_drop(m, Side.LEFT)
            if not math.isfinite(drop):
                return None, math.nan
            stance = Side.LEFT if drop > 0 else Side.RIGHT
        return stance, ankle_drop(m, stance)

    def update(self, i: int, m: Metrics) -> list[Event]:
        t = float(m.t_s)
        self._last_t = t
        events: list[Event] = []
        stance, lift = self._lift(m)
        if not math.isfinite(lift):
            if self._start is not None and self._last_up is not None and t - self._last_up[1] > self.p.touchdown_max_s:
                self._end(self._last_up, events)  # person lost: the hold ended when last seen
            return events
        was_up = self._up
        self._up = lift > (self.p.lift_off if was_up else self.p.lift_on)
        if self._up:
            if self._start is None:
                self._start, self._stance = (i, t), stance
                self._touchdowns = []
                self.state.working_legs = (stance,)
                events.append(HoldStarted(stance, t))
            elif self._down_at is not None:
                self._touchdowns.append(self._down_at[1])  # back up in time: a touch-down
            self._down_at = None
            self._last_up = (i, t)
        elif self._start is not None:
            if self._down_at is None:
                self._down_at = (i, t)
            elif t - self._down_at[1] > self.p.touchdown_max_s:
                assert self._last_up is not None
                self._end(self._last_up, events)
        self._sync()
        return events

    def _end(self, last_up: tuple[int, float], events: list[Event]) -> None:
        assert self._start is not None and self._stance is not None
        start = self._start
        self._start, self._down_at, self._up = None, None, False
        if last_up[1] - start[1] >= self.p.min_hold_s:
            hold = HoldWindow(self._stance, start[0], last_up[0], start[1], last_up[1], tuple(self._touchdowns))
            self.state.holds.append(hold)
            events.append(HoldEnded(hold))
        if self.side is None:
            self._stance = None
        self._sync()

    def finish(self) -> list[Event]:
        """A hold still going when the recording ends counts up to its last frame up."""
        events: list[Event] = []
        if self._start is not None and self._last_up is not None:
            self._end(self._last_up, events)
        return events

    def _sync(self) -> None:
        self.state.phase = Phase.HOLD if self._start is not None else Phase.STANDING

    @property
    def loaded(self) -> bool:
        return self._start is not None

