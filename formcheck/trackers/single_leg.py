"""Weight-bearing single-leg work: lunges, side lunges, step-downs, step-ups, single-leg squats.

Each counts on a leg-shortening signal (percent of the standing hip-ankle image length, which
reads the same from the front, the side and in between) and credits each rep to the leg that
did the work (`RepWindow.legs`): the front leg of a lunge, the bent leg of a side lunge, the
stance leg of step-downs, step-ups and single-leg squats.
"""

from __future__ import annotations

import math
from collections import deque

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import register
from formcheck.trackers.counted import CountedTracker, Evidence
from formcheck.trackers.signals import (
    AnklePath,
    AnkleStillness,
    FootLift,
    HipRise,
    PelvisDrop,
    ankle_drop,
    knee_height,
    mean_hip_ankle_px,
)
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
    """Side lunge: one leg bends over its foot while the trailing leg stays straight, both feet on
    the floor. A foot off the floor bears no weight, so its leg's image length gives way to the
    other leg's as the foot lifts (`FootLift`): a knee raised before stepping out shortens that
    leg in the image as much as a lunge does, and is no depth."""

    name = "side-lunge"
    description = "side (lateral) lunge (per bent leg)"

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.foot_lift = FootLift(self.settings.standing_window_s)

    def signal(self, m: Metrics) -> float:
        """The legs' mean shortening, each leg's length weighted toward the other's by how far
        its foot is off the floor (NaN where a lifted leg has no other leg to stand in for it)."""
        lift = self.foot_lift.update(m)
        length = {s: float(m.leg(s).hip_ankle_px) for s in SIDES}
        loaded: dict[Side, float] = {}
        for s in SIDES:
            w, own, other = lift[s], length[s], length[s.other]
            loaded[s] = own if not w > 0 else own + w * (other - own)
        d = mean_hip_ankle_px(loaded[Side.LEFT], loaded[Side.RIGHT])
        return self.depth.update(float(m.t_s), d)

    def leg_evidence(self, m: Metrics) -> Evidence:
        return dict(self._short)


class _StanceLegSignal(CountedTracker):
    """Counts on the pelvis lowering toward the stance foot (`PelvisDrop`: the stance leg's
    shortening, with its foot held to the floor it stands on): the stance leg bends while the
    free leg hangs or is held still. Unless named, the stance leg is the one whose pelvis drop is
    larger on average over the last `stance_window_s`: a free leg that swings or lifts drops
    less, and briefly. The legs are compared on frames where both are measured (when there are
    any): a caption hiding one foot must not hand the other leg's misplaced landmarks the vote
    (stepdown_oblique_01: the stance leg was picked wrong for 7 s after its title bar)."""

    levels = "stance_leg"

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self._recent: deque[tuple[float, dict[Side, float]]] = deque()
        self.drop = PelvisDrop(self.settings.standing_window_s)
        self._drop_now: dict[Side, float] = {s: math.nan for s in SIDES}

    def stance(self, m: Metrics) -> Side | None:
        if self.side is not None:
            return self.side
        t = float(m.t_s)
        self._recent.append((t, dict(self._drop_now)))
        while self._recent[0][0] < t - self.settings.stance_window_s:
            self._recent.popleft()
        both = [v for _, v in self._recent if all(math.isfinite(x) for x in v.values())]
        frames = both or [v for _, v in self._recent]
        typical: dict[Side, float] = {}
        for s in SIDES:
            vals = [v[s] for v in frames if math.isfinite(v[s])]
            typical[s] = sum(vals) / len(vals) if vals else -math.inf
        if not any(math.isfinite(v) for v in typical.values()):
            return None
        return max(SIDES, key=lambda s: typical[s])

    def signal(self, m: Metrics) -> float:
        drop = self.drop.update(m)
        self._drop_now = drop
        stance = self.stance(m)
        return drop[stance] if stance is not None else math.nan

    def leg_evidence(self, m: Metrics) -> Evidence:
        return dict(self._short)


@register
class StepDownTracker(_StanceLegSignal):
    """Step-down: the stance leg on the step bends while the free heel lowers to the floor."""

    name = "step-down"
    description = "step-down from a step (per stance leg)"


# Single-leg squats: the stance foot stays planted while the free foot is lifted, held out and
# brought back. Over STANCE_LOOK_S the stance is the ankle that travelled less, when the two
# differ by more than STILL_MARGIN body lengths (the model's jitter on a planted foot); else the
# last stance, else the lower ankle. On the labelled real single-leg squats (sls_front_01-05, 17
# reps) the stance ankle travelled 0.02-0.33 body lengths over a rep and the free one 0.14-0.86,
# more on every rep; the lower ankle named the stance leg on 4 of the 17: a free leg held forward
# (pistol) or out to the side reads lower in the image than the planted foot.
STANCE_LOOK_S = 1.0
STILL_MARGIN = 0.05
# A rep's leg: the stiller ankle over the whole rep (body lengths per second), plus this small
# weight on ankle height (body lengths), which tips the balance only where both feet stay about
# as still (a free foot lifted before the rep and held behind).
DROP_TIE_WEIGHT = 0.1


@register
class SingleLegSquatTracker(_StanceLegSignal):
    """Single-leg squat: the stance foot stays planted, the free foot is held up (behind, beside or
    in front)."""

    name = "single-leg-squat"
    description = "single-leg squat or pistol squat (per stance leg)"
    leg_judged_on = "rep"

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.ankle_travel = AnklePath(STANCE_LOOK_S)
        self.ankle_stillness = AnkleStillness()
        self._travel_now: dict[Side, float] = {s: math.nan for s in SIDES}
        self._stillness_now: dict[Side, float] = {s: math.nan for s in SIDES}
        self._stance: Side | None = None

    def signal(self, m: Metrics) -> float:
        # Read once per frame here, before the counter asks `stance` and `leg_evidence`.
        self._travel_now = self.ankle_travel.update(m)
        self._stillness_now = self.ankle_stillness.update(m)
        return super().signal(m)

    def stance(self, m: Metrics) -> Side | None:
        """The leg whose foot stays planted (see STANCE_LOOK_S)."""
        if self.side is not None:
            return self.side
        left, right = self._travel_now[Side.LEFT], self._travel_now[Side.RIGHT]
        if math.isfinite(left) and math.isfinite(right) and abs(left - right) > STILL_MARGIN:
            self._stance = Side.LEFT if left < right else Side.RIGHT
        elif self._stance is None:
            drop = ankle_drop(m, Side.LEFT)
            return None if not math.isfinite(drop) else (Side.LEFT if drop > 0 else Side.RIGHT)
        return self._stance

    def leg_evidence(self, m: Metrics) -> Evidence:
        return {s: self._stillness_now[s] + DROP_TIE_WEIGHT * ankle_drop(m, s) for s in SIDES}


@register
class StepUpTracker(CountedTracker):
    """Step-up: the body rises over the leg on the step; counted on the pelvis rising."""

    name = "step-up"
    description = "step-up onto a step (per stance leg)"
    levels = "hip_rise"  # percent of body length: a 17 cm step lifts the pelvis about 10 % of it
    leg_judged_on = "approach"  # the rise: the stance foot planted on the step, the free foot travelling

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.rise = HipRise(self.settings.standing_window_s)
        self.still = AnkleStillness()

    def signal(self, m: Metrics) -> float:
        return self.rise.update(m)

    def leg_evidence(self, m: Metrics) -> Evidence:
        return self.still.update(m)
