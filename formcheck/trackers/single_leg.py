"""Weight-bearing single-leg work: lunges, side lunges, step-downs, step-ups, single-leg squats.

Each counts on a leg-shortening signal (percent of the standing hip-ankle image length, which
reads the same from the front, the side and in between) and credits each rep to the leg that
did the work (`RepWindow.legs`): the front leg of a lunge, the bent leg of a side lunge, the
stance leg of step-downs, step-ups and single-leg squats.
"""

from __future__ import annotations

import math

from formcheck.landmarks import SIDES, Side
from formcheck.metrics import Metrics
from formcheck.trackers.base import register
from formcheck.trackers.counted import CountedTracker, Evidence
from formcheck.trackers.rep_counter import RepParams
from formcheck.trackers.signals import ankle_drop, knee_height
from formcheck.trackers.squat import SquatTracker


class _BothLegsSignal(SquatTracker):
    """Counts on the mean shortening of both legs (both bend in lunges, as in squats)."""

    both_legs = False


@register
class LungeTracker(_BothLegsSignal):
    """Forward, reverse or supported lunge and split squat; reps count for the front leg."""

    name = "lunge"
    description = "forward/reverse lunge or split squat (per front leg)"

    def leg_evidence(self, m: Metrics) -> Evidence:
        return {s: knee_height(m, s) for s in SIDES}


@register
class SideLungeTracker(_BothLegsSignal):
    """Side lunge: one leg bends over its foot while the trailing leg stays straight."""

    name = "side-lunge"
    description = "side (lateral) lunge (per bent leg)"

    def leg_evidence(self, m: Metrics) -> Evidence:
        return dict(self._short)


class _StanceLegSignal(CountedTracker):
    """Counts on the shortening of the leg that shortens most (the stance leg bends; the free leg
    hangs straight or is held still)."""

    params = RepParams(enter=7.0, onset=2.5, onset_rate=4.0)

    def signal(self, m: Metrics) -> float:
        if self.side is not None:
            return self._short[self.side]
        known = [v for v in self._short.values() if math.isfinite(v)]
        return max(known) if known else math.nan

    def leg_evidence(self, m: Metrics) -> Evidence:
        return dict(self._short)


@register
class StepDownTracker(_StanceLegSignal):
    """Step-down: the stance leg on the step bends while the free heel lowers to the floor."""

    name = "step-down"
    description = "step-down from a step (per stance leg)"


@register
class SingleLegSquatTracker(_StanceLegSignal):
    """Single-leg squat: the stance foot stays on the floor, the free foot is held up."""

    name = "single-leg-squat"
    description = "single-leg squat (per stance leg)"

    def signal(self, m: Metrics) -> float:
        stance = self.side
        if stance is None:
            drop = ankle_drop(m, Side.LEFT)
            if not math.isfinite(drop):
                return math.nan
            stance = Side.LEFT if drop > 0 else Side.RIGHT
        return self._short[stance]

    def leg_evidence(self, m: Metrics) -> Evidence:
        return {s: ankle_drop(m, s) for s in SIDES}
