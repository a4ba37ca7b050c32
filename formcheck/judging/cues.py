"""Live valgus cues: when a working knee caves in under load, say so, without flicker or nagging.

Per leg, a cue raises once the knee's verdict (`frame_judge`, the report's rule on one frame)
has stayed past its limit for `debounce_s` while the leg is loaded, clears once its value falls
under `release_margin` of the limit, and cannot raise again for `cooldown_s` after it cleared
unless the leg was unloaded in between (a new rep: every caving rep gets its cue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from formcheck.config import CueConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.judging.verdict import Verdict


@dataclass(frozen=True)
class Cue:
    leg: Side
    verdict: Verdict  # the frame's verdict when the cue fired
    raised_s: float  # when the cue fired
    crossed_s: float  # when the measure first passed the threshold (cue latency is from here)

    @property
    def basis(self) -> str:
        return self.verdict.measure.basis.value

    @property
    def value(self) -> float:
        return self.verdict.value if self.verdict.value is not None else math.nan

    @property
    def message(self) -> str:
        return f"Push your {self.leg.value} knee out"


@dataclass
class _LegCueState:
    over_since: float | None = None
    active: Cue | None = None
    quiet_until: float = -math.inf


class CueEngine:
    def __init__(self, config: CueConfig) -> None:
        self.cfg = config
        self._legs: dict[Side, _LegCueState] = {s: _LegCueState() for s in SIDES}

    def update(self, t: float, verdicts: dict[Side, Verdict], legs: tuple[Side, ...], loaded: bool) -> list[Cue]:
        """Active cues after the frame at time `t` (the newest first)."""
        active: list[Cue] = []
        for side in legs:
            st = self._legs[side]
            v = verdicts[side]
            value = v.value if v.value is not None else math.nan
            if st.active is not None:
                if not loaded or not math.isfinite(value) or value < self.cfg.release_margin * v.limit:
                    st.active = None
                    st.over_since = None
                    st.quiet_until = t + self.cfg.cooldown_s
            elif loaded and v.valgus:
                if st.over_since is None:
                    st.over_since = t
                if t - st.over_since >= self.cfg.debounce_s and t >= st.quiet_until:
                    st.active = Cue(side, v, raised_s=t, crossed_s=st.over_since)
            else:
                st.over_since = None
            if not loaded:
                # The cool-down stops nagging within one loading; the next rep may cue at once.
                st.quiet_until = -math.inf
            if st.active is not None:
                active.append(st.active)
        return sorted(active, key=lambda c: -c.raised_s)
