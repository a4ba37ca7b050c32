"""Causal per-frame verdicts for the live path: the report's rule, applied to one frame at a time.

Live, the standing baseline is the median of each leg's most recent unloaded, straight-kneed
frames, so it is known a second into the session and follows the person if they shift their
stance; the report pass judges each rep against the same reference taken just before it
(`scoring.StandingReference`). Everything
else (which measure, its limit, the thigh's foreshortening test) is `scoring`'s and `verdict`'s.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from formcheck.config import Thresholds
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.judging.scoring import MIN_REFERENCE_FRAMES, STANDING_FRAMES, STANDING_MAX_FLEXION_DEG, Baseline, frame_verdict
from formcheck.judging.verdict import Verdict

# Per standing frame and leg: FPPA, thigh image length over hip width, knee-to-toe px, shank px.
_FIELDS = 4
_FIRST_REFERENCE_FIELD = 2


class LiveBaseline:
    """A rolling standing baseline per leg, as a `scoring.Baseline`."""

    def __init__(self) -> None:
        self._frames: dict[Side, deque[tuple[float, ...]]] = {s: deque(maxlen=STANDING_FRAMES) for s in SIDES}
        self._baseline: Baseline | None = None

    def note(self, m: Metrics) -> None:
        """Take a frame in which no leg is loaded."""
        for side in SIDES:
            leg = m.leg(side)
            if not float(leg.flexion_deg) <= STANDING_MAX_FLEXION_DEG:
                continue
            with np.errstate(all="ignore"):
                ratio = float(leg.thigh_px / m.hip_width_px)
            values = (float(leg.fppa_deg), ratio, float(leg.knee_toe_px), float(leg.shank_px))
            if math.isfinite(values[2]) and math.isfinite(values[3]) and values[3] > 0:
                self._frames[side].append(values)
                self._baseline = None

    @property
    def baseline(self) -> Baseline:
        if self._baseline is None:
            med = {s: _medians(self._frames[s]) for s in SIDES}
            self._baseline = Baseline(
                fppa_deg={s: med[s][0] for s in SIDES},
                thigh_ratio={s: med[s][1] for s in SIDES},
                frames=max(len(f) for f in self._frames.values()),
                knee_toe_px={s: med[s][2] for s in SIDES},
                shank_px={s: med[s][3] for s in SIDES},
            )
        return self._baseline


def _medians(frames: deque[tuple[float, ...]]) -> list[float | None]:
    if not frames:
        return [None] * _FIELDS
    a = np.asarray(frames, dtype=np.float64)
    out: list[float | None] = []
    for k in range(_FIELDS):
        col = a[:, k][np.isfinite(a[:, k])]
        need = MIN_REFERENCE_FRAMES if k >= _FIRST_REFERENCE_FIELD else 1  # knee_toe_px, shank_px
        out.append(float(np.median(col)) if col.size >= need else None)
    return out


class FrameJudge:
    """Each frame's verdict per leg, judged against the live standing baseline."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.th = thresholds
        self.standing = LiveBaseline()

    def update(self, m: Metrics, loaded: bool) -> dict[Side, Verdict]:
        if not loaded:
            self.standing.note(m)
        baseline = self.standing.baseline
        return {s: frame_verdict(m, s, baseline, self.th) for s in SIDES}
