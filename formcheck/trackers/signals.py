"""Depth signals trackers count on, computed from one frame of metrics at a time."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from formcheck.landmarks import SIDES, Side
from formcheck.metrics import Metrics


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


class PerLegShortening:
    """`LegShortening` for each leg on its own: single-leg work bends one leg, not both."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.legs = {side: LegShortening(window_s) for side in SIDES}

    def update(self, m: Metrics) -> dict[Side, float]:
        t = float(m.t_s)
        return {side: self.legs[side].update(t, float(m.leg(side).hip_ankle_px)) for side in SIDES}


def knee_height(m: Metrics, side: Side) -> float:
    """How far the knee sits above its own ankle in the image, in body lengths.

    At the bottom of a lunge the front shin is upright and the back knee nears the floor, so the
    front knee stands high above its ankle from any camera angle; the thigh, not the shin,
    points at a frontal camera.
    """
    leg = m.leg(side)
    return float((leg.ankle_y - leg.knee_y) / m.body_px)


def ankle_drop(m: Metrics, side: Side) -> float:
    """How much lower this ankle is in the image than the other one, in body lengths (a foot on
    the floor while the other is lifted reads positive)."""
    return float((m.leg(side).ankle_y - m.leg(side.other).ankle_y) / m.body_px)


def legs_crossed(m: Metrics, min_hip_width: float = 0.05) -> bool:
    """Whether the model's leg labels look swapped: both knees and both ankles lie on the
    opposite sides of each other from the hips, while the hips are far enough apart (not side-on)
    for that to mean anything. Standing, squatting, lunging or stepping, a leg never crosses
    under the other hip; the pose model does swap whole legs for seconds at a time (measured on
    the oblique real lunge, every second rep), which its frame-to-frame swap guard cannot see.
    """
    hip_dx = float(m.left.hip_x - m.right.hip_x)
    if not math.isfinite(hip_dx) or abs(hip_dx) < min_hip_width * float(m.body_px):
        return False
    knee_dx = float(m.left.knee_x - m.right.knee_x)
    ankle_dx = float(m.left.ankle_x - m.right.ankle_x)
    return knee_dx * hip_dx < 0 and ankle_dx * hip_dx < 0 and min(abs(knee_dx), abs(ankle_dx)) > 0.5 * abs(hip_dx)
