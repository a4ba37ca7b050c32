"""Hip and knee work without load: clamshells, side-lying leg raises, knee extensions, hamstring curls.

No valgus is scored here (the knee carries no weight); what matters is that each rep is counted,
for the right side, with its range, and for the exercises prescribed with a 5 s hold, how long
the end position was held (`held_near_end`). Each counts on a joint angle in degrees:
- clamshell: the opening angle between the two thighs (hip to knee lines in the image);
- side-lying leg raise: the angle between the two legs (hip to ankle lines);
- seated knee extension: how far the straightening knee has extended (world knee angle);
- standing hamstring curl: how far the curling knee has bent (world knee angle).
Side-lying work is credited to the top leg (the one whose hip is higher in the image).
"""

from __future__ import annotations

import math

import numpy as np

from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import RepWindow, register
from formcheck.trackers.counted import CountedTracker, Evidence, Trace


def _between_deg(ax: float, ay: float, bx: float, by: float) -> float:
    na, nb = math.hypot(ax, ay), math.hypot(bx, by)
    if not (na > 0 and nb > 0):
        return math.nan
    c = max(-1.0, min(1.0, (ax * bx + ay * by) / (na * nb)))
    return math.degrees(math.acos(c))


def thigh_opening_deg(m: Metrics) -> float:
    """Angle between the two hip-to-knee lines in the image."""
    L, R = m.left, m.right
    return _between_deg(float(L.knee_x - L.hip_x), float(L.knee_y - L.hip_y), float(R.knee_x - R.hip_x), float(R.knee_y - R.hip_y))


def leg_opening_deg(m: Metrics) -> float:
    """Angle between the two hip-to-ankle lines in the image."""
    L, R = m.left, m.right
    return _between_deg(float(L.ankle_x - L.hip_x), float(L.ankle_y - L.hip_y), float(R.ankle_x - R.hip_x), float(R.ankle_y - R.hip_y))


# The rep's end position is the level its top tenth of frames reach: a throw of the pose model
# lasting a few frames cannot set it, and on a rep held for seconds it lies within the reading's
# wander about the held knee rather than at that wander's extreme.
END_PERCENTILE = 90.0


def held_near_end(t_s: np.ndarray, x: np.ndarray, start: float, share: float, band: float, gap_s: float) -> float:
    """Seconds the signal `x` (rising toward the end position) stayed near the rep's end position:
    from the first to the last frame of the longest stretch of frames near it, where "near" is within
    `share` of the rep's range (`start` to the end position) or `band`, whichever is wider, and the
    stretch goes on through readings away from the end that last at most `gap_s` at a time: side-on
    the pose model's reading of a knee held straight wanders by 16 degrees (world angle) to 27
    (image). Frames without a reading (NaN) neither break nor end a stretch."""
    known = np.isfinite(x)
    if not known.any():
        return 0.0
    end = float(np.percentile(x[known], END_PERCENTILE))
    width = max(band, share * (end - start)) if math.isfinite(start) else band
    with np.errstate(invalid="ignore"):
        near = known & (x >= end - width)
    away_s = np.cumsum(np.where(known & ~near, np.diff(t_s, prepend=t_s[0]), 0.0))
    idx = np.flatnonzero(near)
    if not idx.size:  # no frame near: a negative band
        return 0.0
    cut = np.flatnonzero(np.diff(away_s[idx]) > gap_s)
    first, last = idx[np.r_[0, cut + 1]], idx[np.r_[cut, idx.size - 1]]
    return float(np.max(t_s[last] - t_s[first]))


class _AngleTracker(CountedTracker):
    levels = "side_lying"
    timed_hold = False
    judges_valgus = False

    def rep_extras(self, rep: RepWindow, trace: Trace) -> RepWindow:
        signal = {i: x for i, _, x, _ in trace}
        start, bottom = signal.get(rep.start_i, math.nan), signal.get(rep.bottom_i, math.nan)
        hold = None
        if self.timed_hold:
            s = self.settings
            t_s, x = np.array([e[1] for e in trace]), np.array([e[2] for e in trace])
            hold = held_near_end(t_s, x, start, s.hold_share, s.hold_band_deg, s.hold_gap_s)
        return RepWindow(**{**rep.__dict__, "range_deg": bottom - start, "hold_s": hold})


class _SideLying(_AngleTracker):
    def leg_evidence(self, m: Metrics) -> Evidence:
        return {s: -float(m.leg(s).hip_y) for s in SIDES}  # the top hip is higher in the image


@register
class ClamshellTracker(_SideLying):
    name = "clamshell"
    description = "side-lying clamshell (per top leg, opening range)"

    def signal(self, m: Metrics) -> float:
        return thigh_opening_deg(m)


@register
class SideLyingLegRaiseTracker(_SideLying):
    name = "side-lying-leg-raise"
    description = "side-lying straight leg raise (per top leg, range)"

    def signal(self, m: Metrics) -> float:
        return leg_opening_deg(m)


class KneeAngleTracker(_AngleTracker):
    """Reps counted on a knee angle (`_knee`): knee extension, hamstring curl, knee range of motion."""

    levels = "knee_angle"
    timed_hold = True
    side_view = True

    def _knee(self, m: Metrics, side: Side) -> float:
        raise NotImplementedError

    def signal(self, m: Metrics) -> float:
        if self.side is not None:
            return self._knee(m, self.side)
        known = [v for v in (self._knee(m, s) for s in SIDES) if math.isfinite(v)]
        return max(known) if known else math.nan

    def leg_evidence(self, m: Metrics) -> Evidence:
        return {s: self._knee(m, s) for s in SIDES}


@register
class KneeExtensionTracker(KneeAngleTracker):
    name = "knee-extension"
    description = "seated knee extension with a 5 s hold (per leg, hold timed)"

    def _knee(self, m: Metrics, side: Side) -> float:
        return -float(m.leg(side).flexion_deg)  # rises as the knee straightens


@register
class HamstringCurlTracker(KneeAngleTracker):
    name = "hamstring-curl"
    description = "standing hamstring curl with a 5 s hold (per leg, hold timed)"

    def _knee(self, m: Metrics, side: Side) -> float:
        return float(m.leg(side).flexion_deg)
