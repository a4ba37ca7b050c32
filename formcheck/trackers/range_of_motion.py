"""Knee range of motion (`knee-rom`): heel slides lying on the back, seated or standing knee
flexion/extension. Per rep and working leg: the maximum flexion and the fullest extension.

Which angle is reported: the knee's flexion in the image (2D) where the leg bends in the image
plane, i.e. filmed from the side (the view `core.metrics` calls side), and the world (3D) angle
everywhere else, where the 2D angle is foreshortened (a knee bending toward the camera reads
straighter than it is). From the side the 2D angle is the better of the two: on the synthetic
seated knee extension (`formcheck samples`, `kneerom_side`) the pose model's 2D angle was within
about 5 degrees of the truth at full extension, while its world angle read 20-30 degrees short of
straight (MediaPipe's depth is its weak axis, and a straight leg seen side-on has all its
straightness in that estimate's hardest pose).

The uncertainty is how far the two estimates disagree: per leg, the larger of |2D - world| at
the frame of maximum flexion and at the frame of fullest extension. It is not an error bar of the
reported number (from the side that is smaller), but it tells a therapist how much the number
rests on which estimate is trusted; a reading with a large one is worth filming again square on.

Which way a rep goes is decided from how the knees rest at the start (`rom_rest_s`): knees
resting bent past `rom_bent_rest_deg` (seated) make each rep a straightening and back; knees
resting straight (lying, standing) make each rep a bend and back. A rep's range is read from
`rom_lead_s` before its start to its end. Counting is the knee-extension
and hamstring-curl machine (`non_weight_bearing.KneeAngleTracker`) on its own levels (`knee_rom`).
"""

from __future__ import annotations

import math
from collections import deque

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import VIEW_CODES, Metrics, View
from formcheck.trackers.base import Event, KneeRom, RepWindow, register
from formcheck.trackers.counted import Trace
from formcheck.trackers.non_weight_bearing import KneeAngleTracker

_SIDE_VIEW = VIEW_CODES.index(View.SIDE)

# Per frame: (frame, t_s, reported flexion per leg, the other estimate per leg, measure name)
_Reading = tuple[int, float, dict[Side, float], dict[Side, float], str]


def knee_readings(m: Metrics) -> tuple[dict[Side, float], dict[Side, float], str]:
    """(reported flexion per leg, the other estimate per leg, which is reported) for one frame."""
    image = {s: float(m.leg(s).flexion_2d_deg) for s in SIDES}
    world = {s: float(m.leg(s).flexion_deg) for s in SIDES}
    if int(m.view) == _SIDE_VIEW:
        return image, world, "image"
    return world, image, "world"


def _extreme(readings: list[_Reading], side: Side, pick) -> tuple[float, float] | None:  # noqa: ANN001 - max or min
    """(value, |reported - other|) at the reading where `side`'s reported flexion is extreme."""
    known = [(r[2][side], r[3][side]) for r in readings if math.isfinite(r[2][side])]
    if not known:
        return None
    value, other = pick(known, key=lambda v: v[0])
    return value, abs(value - other) if math.isfinite(other) else math.nan


@register
class KneeRomTracker(KneeAngleTracker):
    name = "knee-rom"
    description = "knee range of motion: heel slides, seated or standing flexion/extension (per leg, degrees)"
    levels = "knee_rom"
    timed_hold = False

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self._readings: deque[_Reading] = deque()
        self._rest: list[tuple[float, float]] = []  # (t, most bent knee) while the rest is read
        self._direction: float | None = None  # +1: reps bend the knee; -1: reps straighten it
        self._now: dict[Side, float] = {s: math.nan for s in SIDES}

    def _knee(self, m: Metrics, side: Side) -> float:
        if self._direction is None:
            return math.nan
        return self._direction * self._now[side]

    def _decide_direction(self, t: float) -> None:
        known = [v for v in self._now.values() if math.isfinite(v)]
        if known:
            self._rest.append((t, max(known)))
        if self._rest and t - self._rest[0][0] >= self.settings.rom_rest_s:
            rest = sorted(v for _, v in self._rest)[len(self._rest) // 2]
            self._direction = -1.0 if rest > self.settings.rom_bent_rest_deg else 1.0

    def update(self, i: int, m: Metrics) -> list[Event]:
        t = float(m.t_s)
        reported, other, measure = knee_readings(m)
        self._now = reported
        if self._direction is None:
            self._decide_direction(t)
        self._readings.append((i, t, reported, other, measure))
        while self._readings[0][1] < t - self.settings.rep_history_s:  # as long as the counter's trace
            self._readings.popleft()
        return super().update(i, m)

    def rep_extras(self, rep: RepWindow, trace: Trace) -> RepWindow:
        rep = super().rep_extras(rep, trace)
        # From `rom_lead_s` before the rep's start: the counter starts a rep where the knee picks up
        # speed, and the rest just before it is one end of the rep's range (a seated knee's flexion).
        lead = rep.start_s - self.settings.rom_lead_s
        readings = [r for r in self._readings if r[1] >= lead and r[0] <= rep.end_i]
        measures = [r[4] for r in readings]
        measure = max(set(measures), key=measures.count) if measures else "world"
        rom = []
        for side in rep.legs:
            top, low = _extreme(readings, side, max), _extreme(readings, side, min)
            spread = [e[1] for e in (top, low) if e is not None and math.isfinite(e[1])]
            rom.append(KneeRom(
                leg=side,
                max_flexion_deg=top[0] if top else None,
                fullest_extension_deg=low[0] if low else None,
                uncertainty_deg=max(spread) if spread else None,
                measure=measure,
            ))
        return RepWindow(**{**rep.__dict__, "knee_rom": tuple(rom)})
