"""Live valgus cues: when a working knee caves in under load, say so, without flicker or nagging.

Per leg, a cue raises once the knee's measure has stayed past its threshold for `debounce_s`
while the leg is loaded, clears once it falls under `release_margin` of the threshold, and
cannot raise again for `cooldown_s` after it cleared unless the leg was unloaded in between (a
new rep: every caving rep gets its cue). The measure is FPPA where the thigh is
seen well (knee flexion up to `fppa_max_flexion_deg`), the knee-to-toe offset beyond that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from formcheck.config import CueConfig, Thresholds
from formcheck.landmarks import Side
from formcheck.metrics import Metrics


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


def knee_measure(m: Metrics, side: Side, th: Thresholds) -> tuple[str, float, float]:
    """(basis, value, threshold) for one frame of one leg; value NaN where not scoreable."""
    leg = m.leg(side)
    flexion = float(leg.flexion_deg)
    if not flexion > th.fppa_max_flexion_deg:
        return "fppa", float(leg.fppa_deg), th.valgus_fppa_deg
    return "knee_toe", float(leg.knee_toe), th.valgus_knee_toe


class CueEngine:
    def __init__(self, thresholds: Thresholds, config: CueConfig) -> None:
        self.th = thresholds
        self.cfg = config
        self._legs: dict[Side, _LegCueState] = {}

    def update(self, m: Metrics, legs: tuple[Side, ...], loaded: bool) -> list[Cue]:
        """Active cues after this frame (the newest first)."""
        t = float(m.t_s)
        active: list[Cue] = []
        for side in legs:
            st = self._legs.setdefault(side, _LegCueState())
            basis, value, limit = knee_measure(m, side, self.th)
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
