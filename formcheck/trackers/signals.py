"""Depth signals trackers count on, computed from one frame of metrics at a time."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics


class LegShortening:
    """How much the hip-to-ankle distance in the image has shortened, in percent of standing.

    Standing is the longest the distance has been over the last `window_s` seconds (a running
    maximum), so it follows the person walking toward or away from the camera between reps and
    needs no calibration. Bending the knees brings hip and ankle together in the image from the
    front and from the side alike; unlike the world-landmark knee angle, which the model
    under-reads on some bodies and clothes, it is measured on the image the model is best at.
    """

    def __init__(self, window_s: float) -> None:
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

    @property
    def standing(self) -> float:
        """The running maximum (the standing length), NaN before the first sample."""
        return self._maxima[0][1] if self._maxima else math.nan


def mean_hip_ankle_px(*distances: float) -> float:
    """Mean of the legs' hip-ankle distances that are known (one hidden leg is common side-on)."""
    known = [d for d in distances if math.isfinite(d)]
    return float(np.mean(known)) if known else math.nan


class PerLegShortening:
    """`LegShortening` for each leg on its own: single-leg work bends one leg, not both."""

    def __init__(self, window_s: float) -> None:
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


# One ankle this many body lengths higher in the image than the other: that foot is well off the
# floor (a knee raised, a leg swung out). Feet standing on one floor differ by less in most views
# (synthetic side lunges at yaw 30: up to 0.08), but not all: a foot stepping out nearer the camera
# reads lower, and lateral_lunge_front_02's bent foot reads 0.10-0.16 above the straight one's at
# its bottom, still on its floor. A knee raised to hip height lifts its ankle about a thigh length
# (0.3) or more (0.6 with the shin tucked back, lateral_lunge_front_darebee_man_01).
FOOT_OFF_FLOOR = 0.1
# Under this (body lengths) a foot is on the floor (balance's `lift_off`, the model's jitter).
FOOT_ON_FLOOR = 0.03


def ankle_drop(m: Metrics, side: Side) -> float:
    """How much lower this ankle is in the image than the other one, in body lengths (a foot on
    the floor while the other is lifted reads positive)."""
    return float((m.leg(side).ankle_y - m.leg(side.other).ankle_y) / m.body_px)


class FootLift:
    """Per leg: how far its foot is off the floor, from 0 (standing on it) to 1 (clearly lifted).

    The ankle's height above its own floor (the lowest it has been over `window_s`: a running
    maximum of image y) and above the other ankle, the smaller of the two, in body lengths: 0
    under FOOT_ON_FLOOR, 1 from FOOT_OFF_FLOOR, linear between so that signals weighted by it do
    not jump. Both heights, because either alone is fooled by the camera: a foot stepping out
    nearer the camera reads lower in the image, so the other looks lifted though it stands where it
    stood; a person walking away raises both feet above their floors together. With the other
    ankle unseen, the own floor alone; NaN with the ankle itself unseen.
    """

    def __init__(self, window_s: float) -> None:
        self.floor = {side: LegShortening(window_s) for side in SIDES}  # for its running maximum

    def update(self, m: Metrics) -> dict[Side, float]:
        t, body = float(m.t_s), float(m.body_px)
        ankle = {side: float(m.leg(side).ankle_y) for side in SIDES}
        for side in SIDES:
            self.floor[side].update(t, ankle[side])
        out: dict[Side, float] = {}
        for side in SIDES:
            own = (self.floor[side].standing - ankle[side]) / body
            other = (ankle[side.other] - ankle[side]) / body
            height = min(own, other) if math.isfinite(other) else own
            if not math.isfinite(height):
                out[side] = math.nan
                continue
            out[side] = float(np.clip((height - FOOT_ON_FLOOR) / (FOOT_OFF_FLOOR - FOOT_ON_FLOOR), 0.0, 1.0))
        return out


class HipRise:
    """Pelvis height above the floor, in percent of standing body length (the rep counter takes
    its rise). For step-ups: the body rises over the stepping leg.

    The floor is the lowest ankle seen recently (a running maximum of image y) and the yardstick
    the running maximum of the body's image length, so neither a bent leg nor a lifted foot
    moves them, and both follow the person walking nearer or further between reps.
    """

    def __init__(self, window_s: float) -> None:
        self.size = LegShortening(window_s)  # for its running maximum
        self.floor = LegShortening(window_s)

    def update(self, m: Metrics) -> float:
        t = float(m.t_s)
        hip_y = (float(m.left.hip_y) + float(m.right.hip_y)) / 2
        ankle_y = np.fmax(float(m.left.ankle_y), float(m.right.ankle_y))
        if not (math.isfinite(hip_y) and math.isfinite(ankle_y) and math.isfinite(float(m.body_px))):
            return math.nan
        self.size.update(t, float(m.body_px))
        self.floor.update(t, float(ankle_y))
        return 100.0 * (self.floor.standing - hip_y) / self.size.standing


class AnkleStillness:
    """Per-leg: minus how far each ankle moved since the last frame, in body lengths per second.
    The stance foot stays planted on the floor or the step while the free foot travels."""

    def __init__(self) -> None:
        self._prev: dict[Side, tuple[float, float, float]] = {}

    def update(self, m: Metrics) -> dict[Side, float]:
        out: dict[Side, float] = {}
        t = float(m.t_s)
        for side in SIDES:
            leg = m.leg(side)
            x, y = float(leg.ankle_x), float(leg.ankle_y)
            prev = self._prev.get(side)
            out[side] = math.nan
            if prev is not None and t > prev[2] and math.isfinite(x) and math.isfinite(y):
                out[side] = -math.hypot(x - prev[0], y - prev[1]) / float(m.body_px) / (t - prev[2])
            self._prev[side] = (x, y, t)
        return out


class AnklePath:
    """Per leg: how far each ankle travelled in the image over the last `window_s` seconds, in
    body lengths (NaN until both ankles have been seen for a while). The stance foot stays
    planted while the free foot is lifted, held out and brought back: behind, beside, or in front
    as in a pistol squat, where the free ankle reads *lower* in the image than the stance ankle."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._steps: deque[tuple[float, float, float]] = deque()  # (t, left step, right step)
        self._prev: dict[Side, tuple[float, float]] = {}
        self._sum = {s: 0.0 for s in SIDES}

    def update(self, m: Metrics) -> dict[Side, float]:
        t = float(m.t_s)
        body = float(m.body_px)
        now = {s: (float(m.leg(s).ankle_x), float(m.leg(s).ankle_y)) for s in SIDES}
        seen = math.isfinite(body) and body > 0 and all(math.isfinite(v) for xy in now.values() for v in xy)
        if seen:  # both ankles, each measured from where it was last seen with the other
            if len(self._prev) == len(SIDES):
                step = {s: math.hypot(now[s][0] - self._prev[s][0], now[s][1] - self._prev[s][1]) / body for s in SIDES}
                self._steps.append((t, step[Side.LEFT], step[Side.RIGHT]))
                self._sum[Side.LEFT] += step[Side.LEFT]
                self._sum[Side.RIGHT] += step[Side.RIGHT]
            self._prev = dict(now)
        while self._steps and self._steps[0][0] < t - self.window_s:
            _, a, b = self._steps.popleft()
            self._sum[Side.LEFT] -= a
            self._sum[Side.RIGHT] -= b
        if len(self._steps) < 3:
            return {s: math.nan for s in SIDES}
        return {s: max(self._sum[s], 0.0) for s in SIDES}


class PelvisDrop:
    """Per leg: how far the hip has come down toward that leg's floor, in percent of the
    standing hip-to-floor height. The floor is the lowest the ankle has been recently (a running
    maximum of image y), the standing height a running maximum like `LegShortening`'s.

    For a planted foot this is the leg's shortening, read without trusting where the model puts
    the ankle on each frame: a foot that bears weight cannot rise, but the model's ankle can
    (measured on the synthetic step-down at yaw 15: between reps, standing on the step, both
    ankles jumped 60 px up with visibility 0.3-0.7, a 30 % "shortening" that counted as reps).
    """

    def __init__(self, window_s: float) -> None:
        self.floor = {side: LegShortening(window_s) for side in SIDES}  # for its running maximum
        self.height = {side: LegShortening(window_s) for side in SIDES}

    def update(self, m: Metrics) -> dict[Side, float]:
        t = float(m.t_s)
        out: dict[Side, float] = {}
        for side in SIDES:
            leg = m.leg(side)
            self.floor[side].update(t, float(leg.ankle_y))
            out[side] = self.height[side].update(t, self.floor[side].standing - float(leg.hip_y))
        return out
