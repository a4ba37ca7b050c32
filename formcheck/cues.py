"""Live valgus cues: when a working knee caves in under load, say so, without flicker or nagging.

Per leg, a cue raises once the knee's measure has stayed past its threshold for `debounce_s`
while the leg is loaded, clears once it falls under `release_margin` of the threshold, and
cannot raise again for `cooldown_s` after it cleared unless the leg was unloaded in between (a
new rep: every caving rep gets its cue). The measure is FPPA where the thigh is
seen well (knee flexion up to `fppa_max_flexion_deg`), the knee against its toes beyond that,
by the same rule as the report (`scoring.knee_toe_rule`): by default the knee-to-toe change from
standing, where "standing" is the median of the leg's recent unloaded, straight-kneed frames
(the report pass uses the standing frames before the first rep).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from formcheck import geometry as g
from formcheck.config import CueConfig, Thresholds
from formcheck.landmarks import SIDES, Side
from formcheck.metrics import Metrics
from formcheck.scoring import knee_toe_rule

# Live standing reference: frames of an unloaded leg bent at most this much count as standing,
# and the median of the most recent STANDING_FRAMES of them is the reference.
STANDING_MAX_FLEXION_DEG = 25.0
STANDING_FRAMES = 45


@dataclass(frozen=True)
class Cue:
    leg: Side
    basis: str  # "fppa" or "knee_toe"
    value: float
    raised_s: float  # when the cue fired
    crossed_s: float  # when the measure first passed the threshold (cue latency is from here)

    @property
    def message(self) -> str:
        return f"Push your {self.leg.value} knee out"


@dataclass
class _LegCueState:
    over_since: float | None = None
    active: Cue | None = None
    quiet_until: float = -math.inf
    standing: deque = field(default_factory=lambda: deque(maxlen=STANDING_FRAMES))  # (knee-toe px, shank px)

    def standing_reference(self) -> tuple[float, float] | None:
        if not self.standing:
            return None
        kt, shank = zip(*self.standing)
        return float(sorted(kt)[len(kt) // 2]), float(sorted(shank)[len(shank) // 2])


def knee_measure(m: Metrics, side: Side, th: Thresholds, standing: tuple[float, float] | None = None) -> tuple[str, float, float]:
    """(basis, value, threshold) for one frame of one leg; value NaN where not scoreable.

    `standing` is (knee-to-toe offset px, shank length px) while standing, or None if not known yet.
    """
    leg = m.leg(side)
    flexion = float(leg.flexion_deg)
    if not flexion > th.fppa_max_flexion_deg:
        return "fppa", float(leg.fppa_deg), th.valgus_fppa_deg
    which, limit = knee_toe_rule(th, standing is not None)
    if which == "change" and standing is not None:
        return "knee_toe", float(g.knee_toe_change(leg.knee_toe_px, *standing)), limit
    return "knee_toe", float(leg.knee_toe), limit


class CueEngine:
    def __init__(self, thresholds: Thresholds, config: CueConfig) -> None:
        self.th = thresholds
        self.cfg = config
        self._legs: dict[Side, _LegCueState] = {}

    def update(self, m: Metrics, legs: tuple[Side, ...], loaded: bool) -> list[Cue]:
        """Active cues after this frame (the newest first)."""
        t = float(m.t_s)
        active: list[Cue] = []
        if not loaded:
            for side in SIDES:
                self._note_standing(m, side, self._legs.setdefault(side, _LegCueState()))
        for side in legs:
            st = self._legs.setdefault(side, _LegCueState())
            basis, value, limit = knee_measure(m, side, self.th, st.standing_reference())
            over = loaded and math.isfinite(value) and value > limit
            if st.active is not None:
                if not loaded or not math.isfinite(value) or value < self.cfg.release_margin * limit:
                    st.active = None
                    st.over_since = None
                    st.quiet_until = t + self.cfg.cooldown_s
            elif over:
                if st.over_since is None:
                    st.over_since = t
                if t - st.over_since >= self.cfg.debounce_s and t >= st.quiet_until:
                    st.active = Cue(side, basis, value, raised_s=t, crossed_s=st.over_since)
            else:
                st.over_since = None
            if not loaded:
                # The cool-down stops nagging within one loading; the next rep may cue at once.
                st.quiet_until = -math.inf
            if st.active is not None:
                active.append(st.active)
        return sorted(active, key=lambda c: -c.raised_s)

    def _note_standing(self, m: Metrics, side: Side, st: _LegCueState) -> None:
        leg = m.leg(side)
        kt, shank, flexion = float(leg.knee_toe_px), float(leg.shank_px), float(leg.flexion_deg)
        if math.isfinite(kt) and math.isfinite(shank) and shank > 0 and flexion <= STANDING_MAX_FLEXION_DEG:
            st.standing.append((kt, shank))
