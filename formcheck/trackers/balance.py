"""Single-leg balance: which leg stands, when the hold starts and ends, and touch-downs.

The free foot is "up" while its ankle sits higher in the image than the stance ankle by more
than `lift_on` body lengths, and back "down" under `lift_off` (hysteresis against jitter). A
foot that comes down and goes back up within `touchdown_max_s` is a touch-down inside the same
hold; down for longer ends the hold. Holds shorter than `min_hold_s` (a step while walking in,
a stumble) are not holds. Height differences are in body lengths (shoulders to ankles), so
the thresholds mean the same near and far from the camera.

Each hold also names its progression (`progression`): tiptoes (the stance heel risen over its
flat height, read while both feet stood before the hold, for most of the hold), head turns and
arm or free-leg reaches (swings past a level and back, measured from where the head or limb rests
over the hold, so a hold with the arms held out throughout is no reach). The frames of a hold are
kept while it runs and measured when it ends.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from formcheck.config import HoldSettings, TrackerConfig
from formcheck.core.landmarks import Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import (
    Event,
    HoldEnded,
    HoldStarted,
    HoldWindow,
    Phase,
    Progression,
    Reach,
    Tracker,
    register,
)
from formcheck.trackers.signals import ankle_drop


REACH_LIMBS = ("free-leg", "left-arm", "right-arm")


def swings(x: np.ndarray, on: float, off: float) -> list[tuple[int, int]]:
    """(first, last) frames of each swing of |x| past `on` that came back under `off` (hysteresis);
    one still out at the end is not counted (it did not come back). NaN frames change nothing."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, v in enumerate(np.abs(np.asarray(x, dtype=float))):
        if not math.isfinite(v):
            continue
        if start is None and v > on:
            start = i
        elif start is not None and v < off:
            out.append((start, i - 1))
            start = None
    return out


def _finite_median(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def measure_progression(
    t_s: np.ndarray,
    heel_rise: np.ndarray | None,
    head_yaw_deg: np.ndarray,
    reach: dict[str, np.ndarray],
    p: HoldSettings,
) -> Progression:
    """A hold's progression from its frames: `heel_rise` the stance heel above flat (body lengths;
    None when no flat foot was seen), `head_yaw_deg` the head's turn, `reach` per limb the distance
    from the body's axis in leg lengths. Head and limbs are measured from where they rest: the
    head's median turn, a limb's lower quartile (a reach is the exception, not the rest)."""
    t_s = np.asarray(t_s, dtype=float)
    share = rise = None
    if heel_rise is not None:
        known = heel_rise[np.isfinite(heel_rise)]
        if known.size:
            share = float(np.mean(known > p.tiptoe_rise))
            rise = float(np.median(known))
    yaw = np.asarray(head_yaw_deg, dtype=float)
    rest = _finite_median(yaw)
    turns: list[tuple[int, int]] = []
    turn_max = None
    if rest is not None:
        dev = yaw - rest
        turns = swings(dev, p.head_turn_on, p.head_turn_off)
        turn_max = float(np.nanmax(np.abs(dev)))
    reaches: list[Reach] = []
    for limb, x in reach.items():
        x = np.asarray(x, dtype=float)
        if not np.isfinite(x).any():
            continue
        base = float(np.nanpercentile(x, 25))
        for a, b in swings(x - base, p.reach_on, p.reach_off):
            reaches.append(Reach(limb, float(t_s[a]), float(t_s[b]), float(np.nanmax(x[a : b + 1]))))
    reaches.sort(key=lambda r: r.start_s)
    kinds = []
    if share is not None and share >= p.tiptoe_share:
        kinds.append("tiptoes")
    if turns:
        kinds.append("head-turns")
    if reaches:
        kinds.append("reaches")
    return Progression("+".join(kinds) or "flat", share, rise, len(turns), turn_max, tuple(reaches))


class _HoldFrames:
    """What a running hold's progression is measured on, one frame at a time."""

    def __init__(self, stance: Side, flat: float | None) -> None:
        self.stance, self.flat = stance, flat
        self.t: list[float] = []
        self.heel: list[float] = []
        self.yaw: list[float] = []
        self.reach: dict[str, list[float]] = {limb: [] for limb in REACH_LIMBS}

    def add(self, m: Metrics) -> None:
        body = float(m.body_px)
        leg_m = float(m.leg(self.stance).leg_m)
        self.t.append(float(m.t_s))
        self.heel.append(float(m.leg(self.stance).heel_over_toe_px) / body - self.flat if self.flat is not None else math.nan)
        self.yaw.append(float(m.head_yaw_deg))
        for limb, value in zip(REACH_LIMBS, (m.leg(self.stance.other).ankle_reach_m, m.left.wrist_reach_m, m.right.wrist_reach_m)):
            self.reach[limb].append(float(value) / leg_m if leg_m > 0 else math.nan)

    def measure(self, upto: int, p: HoldSettings) -> Progression:
        """Over the hold's first `upto` frames (to its last frame up)."""
        heel = np.array(self.heel[:upto]) if self.flat is not None else None
        return measure_progression(np.array(self.t[:upto]), heel, np.array(self.yaw[:upto]),
                                   {k: np.array(v[:upto]) for k, v in self.reach.items()}, p)


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
        # Heel over toe (body lengths) per leg while both feet stood: the flat foot before a hold
        self._flat: deque[tuple[float, float, float]] = deque()
        self._frames: _HoldFrames | None = None
        self._upto = 0  # frames of the hold up to its last frame up

    def _flat_height(self, stance: Side, t: float) -> float | None:
        """The stance heel's median height over its toe while standing before the hold."""
        col = 1 if stance is Side.LEFT else 2
        seen = np.array([(v[0], v[col]) for v in self._flat if v[0] >= t - self.p.flat_window_s and math.isfinite(v[col])])
        if len(seen) < 2 or seen[-1, 0] - seen[0, 0] < self.p.flat_min_s:
            return None
        return float(np.median(seen[:, 1]))

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
                self._frames = _HoldFrames(stance, self._flat_height(stance, t))
                self.state.working_legs = (stance,)
                events.append(HoldStarted(stance, t))
            elif self._down_at is not None:
                self._touchdowns.append(self._down_at[1])  # back up in time: a touch-down
            self._down_at = None
            self._last_up = (i, t)
        if self._frames is not None and self._start is not None:
            self._frames.add(m)
            if self._up:
                self._upto = len(self._frames.t)
        if self._start is None and lift < self.p.lift_off:  # both feet down: the flat foot
            body = float(m.body_px)
            self._flat.append((t, float(m.left.heel_over_toe_px) / body, float(m.right.heel_over_toe_px) / body))
            while self._flat and self._flat[0][0] < t - self.p.flat_window_s:
                self._flat.popleft()
        if not self._up and self._start is not None:
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
        frames, self._frames = self._frames, None
        self._flat.clear()  # the next hold's flat foot is read after this one
        if last_up[1] - start[1] >= self.p.min_hold_s:
            progression = frames.measure(self._upto, self.p) if frames is not None else None
            hold = HoldWindow(self._stance, start[0], last_up[0], start[1], last_up[1], tuple(self._touchdowns),
                              progression)
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

