"""Live valgus cues: when a working knee caves in under load, say so, without flicker or nagging.

Per leg, a cue raises once the knee's verdict (`frame_judge`, the report's rule on one frame)
has stayed past its limit for `debounce_s` while the leg is loaded, clears once its value falls
under `release_margin` of the limit, and cannot raise again for `cooldown_s` after it cleared
unless the leg was unloaded in between or a new rep began (every caving rep gets its cue: hop
landings and sideways steps can follow each other with the legs loaded throughout).
The band side-shuffle's "keep the band tight" (`BandCueEngine`) follows the same rule on the
ankles' distance, a lower limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
    active: Cue | BandCue | None = None
    quiet_until: float = -math.inf


def _advance(st: _LegCueState, t: float, cfg: CueConfig, loaded: bool, past: bool, released: bool,
             raise_cue: Callable[[float], Cue | BandCue]) -> None:
    """One frame of the debounce and cool-down rule; `raise_cue(crossed_s)` makes the cue."""
    if st.active is not None:
        if released:
            st.active = None
            st.over_since = None
            st.quiet_until = t + cfg.cooldown_s
    elif loaded and past:
        if st.over_since is None:
            st.over_since = t
        if t - st.over_since >= cfg.debounce_s and t >= st.quiet_until:
            st.active = raise_cue(st.over_since)
    else:
        st.over_since = None


class CueEngine:
    def __init__(self, config: CueConfig) -> None:
        self.cfg = config
        self._legs: dict[Side, _LegCueState] = {s: _LegCueState() for s in SIDES}
        self._rep: int | None = None

    def update(self, t: float, verdicts: dict[Side, Verdict], legs: tuple[Side, ...], loaded: bool,
               rep: int | None = None) -> list[Cue]:
        """Active cues after the frame at time `t` (the newest first); `rep` is the rep in
        progress (the tracker's number), whose change ends every leg's cool-down."""
        if rep is not None and rep != self._rep:
            self._rep = rep
            for st in self._legs.values():
                st.quiet_until = -math.inf
        active: list[Cue] = []
        for side in legs:
            st = self._legs[side]
            v = verdicts[side]
            value = v.value if v.value is not None else math.nan
            released = not loaded or not math.isfinite(value) or value < self.cfg.release_margin * v.limit
            _advance(st, t, self.cfg, loaded, bool(v.valgus), released,
                     lambda crossed, side=side, v=v: Cue(side, v, raised_s=t, crossed_s=crossed))
            if not loaded:
                # The cool-down stops nagging within one loading; the next rep may cue at once.
                st.quiet_until = -math.inf
            if st.active is not None:
                active.append(st.active)  # type: ignore[arg-type]  # a valgus cue
        return sorted(active, key=lambda c: -c.raised_s)


@dataclass(frozen=True)
class BandCue:
    """The band side-shuffle's cue: the ankles came closer than the limit (standing hip widths) while
    walking, so the band went slack. Both feet's, so no leg; read like a `Cue` by the live window,
    the recording and live.json."""

    value: float  # the ankles' distance when the cue fired, standing hip widths
    limit: float
    raised_s: float
    crossed_s: float
    leg: None = None
    basis: str = "ankle_separation"
    message: str = "Keep the band tight"


class BandCueEngine:
    """`CueEngine`'s rule for a lower limit: raises once the feet have stayed closer than `limit`
    for `debounce_s` while loaded, clears once they are back over `limit / release_margin`, and
    keeps quiet for `cooldown_s` after clearing unless a new step began (`step` changed)."""

    def __init__(self, config: CueConfig) -> None:
        self.cfg = config
        self._st = _LegCueState()
        self._step: int | None = None

    def update(self, t: float, apart: float | None, limit: float, loaded: bool, step: int) -> list[BandCue]:
        value = apart if apart is not None else math.nan
        if step != self._step:
            self._step, self._st.quiet_until = step, -math.inf
        released = not loaded or not math.isfinite(value) or value > limit / self.cfg.release_margin
        _advance(self._st, t, self.cfg, loaded, value < limit, released,
                 lambda crossed: BandCue(value, limit, raised_s=t, crossed_s=crossed))
        return [self._st.active] if self._st.active is not None else []  # type: ignore[list-item]
