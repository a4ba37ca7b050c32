"""Bilateral squats (banded or not, and the lean-back squat): both legs carry every rep."""

from __future__ import annotations

from formcheck.config import Thresholds, TrackerConfig
from formcheck.core.landmarks import Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import register
from formcheck.trackers.counted import CountedTracker
from formcheck.trackers.signals import LegShortening, mean_hip_ankle_px


@register
class SquatTracker(CountedTracker):
    """Counts squats on how far the legs shorten in the image (see `LegShortening`)."""

    name = "squat"
    description = "bilateral squat, banded or not (both legs)"
    # Levels in percent of standing hip-ankle length (config `trackers.leg_shortening`). Measured:
    # real squats shorten the legs by 25-60 %, the synthetic bench's moderate squats by 17-20 %;
    # shifting weight or fidgeting, under 5 %.
    levels = "leg_shortening"
    both_legs = True  # a named side changes nothing: both legs work

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.depth = LegShortening(self.settings.standing_window_s)

    def thresholds(self, th: Thresholds) -> Thresholds:
        """Both feet planted: judged by where the knee ends against its toes too (lunges, which
        count on this signal with one working leg, keep the configured thresholds)."""
        return th.for_two_footed_squat() if self.both_legs else th

    def signal(self, m: Metrics) -> float:
        d = mean_hip_ankle_px(float(m.left.hip_ankle_px), float(m.right.hip_ankle_px))
        return self.depth.update(float(m.t_s), d)


@register
class LeanBackSquatTracker(SquatTracker):
    """Holding a support, hips back, weight on the heels: counted like a squat (both legs)."""

    name = "lean-back-squat"
    description = "supported lean-back squat, hips back (both legs)"
