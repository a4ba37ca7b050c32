"""Depth signals trackers count on, computed from one frame of metrics at a time."""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class LegShortening:
    """How much the hip-to-ankle distance in the image has shortened, in percent of standing.

    Standing is the longest the distance has been over the last `window_s` seconds (a running
    maximum), so it follows the person walking toward or away from the camera between reps and
    needs no calibration. Bending the knees brings hip and ankle together in the image from the
    front and from the side alike; unlike the world-landmark knee angle, which the model
    under-reads on some bodies and clothes, it is measured on the image the model is best at.
    """

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._maxima: deque[tuple[float, float]] = deque()  # (t, d), decreasing d

    def update(self, t: float, distance_px: float) -> float:
        if not math.isfinite(distance_px) or distance_px <= 0:
            return math.nan
        q = self._maxima
        while q and q[-1][1] <= distance_px:
            q.pop()
        q.append((t, distance_px))
        while q[0][0] < t - self.window_s:
            q.popleft()
        return 100.0 * (1.0 - distance_px / q[0][1])


def mean_hip_ankle_px(*distances: float) -> float:
    """Mean of the legs' hip-ankle distances that are known (one hidden leg is common side-on)."""
    known = [d for d in distances if math.isfinite(d)]
    return float(np.mean(known)) if known else math.nan
