"""Per-rep valgus scores and the standing baseline, pure functions over a clip's metric arrays.

Which measures judge a rep is `verdict.measures_for`'s answer at the rep's bottom and
`verdict.decide` gives the verdict; this module measures the peaks they are judged on. The thigh counts as foreshortened when its image length, relative to the shank's, falls under a
fraction of what it was while standing: seen from the front, a deep squat points the thigh at
the camera and FPPA then reads -60 to -120 degrees on knees that do not cave at all.

Against the foot, the knee is judged by default by how far it moved medially relative to its toes
since the person last stood (`Thresholds.knee_toe_from_standing`, `StandingReference`): the absolute knee-to-toe offset depends on
toe-out, stance and how far forward the knee travels, so clean toes-out reps (a lateral lunge, a
deep squat) read as high as mild caves. The absolute offset stays selectable and is used when
no standing frames were seen.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from formcheck.config import Thresholds
from formcheck.core import geometry as g
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.judging.verdict import Basis, Measure, Verdict, decide, measures_for
from formcheck.trackers.base import HoldWindow, RepWindow

# Frames of a leg bent at most this much, outside reps (live: while not loaded), count as
# standing; the median of the most recent STANDING_FRAMES of them is a rep's standing reference.
STANDING_MAX_FLEXION_DEG = 25.0
STANDING_FRAMES = 45


@dataclass(frozen=True)
class Baseline:
    """Standing posture: static FPPA, the thigh's image length over hip width, and where the knee
    stood over its toes (pixels) with the shank's image length, per leg."""

    fppa_deg: dict[Side, float | None]
    thigh_ratio: dict[Side, float | None]
    frames: int  # how many standing frames it was taken from
    knee_toe_px: dict[Side, float | None] = field(default_factory=dict)
    shank_px: dict[Side, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RepScore:
    rep: RepWindow
    fppa_deg: dict[Side, float | None]  # at deepest flexion
    peak_fppa_deg: dict[Side, float | None]
    peak_shank_deg: dict[Side, float | None]
    peak_knee_toe_offset: dict[Side, float | None]
    verdict: dict[Side, Verdict]  # per working leg; empty where the view did not allow scoring
    depth_deg: float | None  # peak knee flexion of the working legs
    min_separation_ratio: float | None
    # Most medial knee-to-toe change from standing in the loaded half (standing shank lengths);
    # None without standing frames or outside a frontal view.
    peak_knee_toe_change: dict[Side, float | None] = field(default_factory=dict)
    # How the rep was judged (schema 1's valgus_basis): FPPA, against the foot (knee_toe), or by the
    # shank where the toe was not seen; None where the view did not allow scoring. Each leg's
    # verdict names the measure that decided it.
    basis: Basis | None = None
    # Band-walk: the step's narrowest ankle distance under `Thresholds.band_min_ankle_separation`
    # (the band went slack); None where the exercise has no such rule or it was not seen.
    feet_too_close: bool | None = None

    @property
    def valgus(self) -> dict[Side, bool | None]:
        return {s: (self.verdict[s].valgus if s in self.verdict else None) for s in self.rep.legs}


def _f(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _nanmax(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else None


def held_max(t_s: np.ndarray, values: np.ndarray, hold_s: float, lo: int = 0, hi: int | None = None) -> float | None:
    """The highest level `values` stays at or above for at least `hold_s` (first to last sample
    of a run of consecutive samples), over runs that overlap samples lo..hi-1; None if none does.

    Unlike a plain maximum, a spike shorter than `hold_s` cannot set it, and it is never above
    the plain maximum of lo..hi-1. Runs may reach past lo and hi, so a rep whose knee is most
    valgus at its first frame still reads that frame's value. A NaN sample (missing, or masked
    as unusable) breaks a run; dropped frames do not: time between analysed samples counts as held.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    hi = n if hi is None else hi
    if hold_s <= 0:
        return _nanmax(x[lo:hi])
    if hi <= lo:
        return None
    t = np.asarray(t_s, dtype=np.float64)
    start = np.arange(np.searchsorted(t, t[lo] - hold_s, side="left"), hi)
    end = np.searchsorted(t, t[start] + hold_s - 1e-9, side="left")  # first sample hold_s on
    keep = (end < n) & (end >= lo)
    start, end = start[keep], end[keep]
    if not start.size:
        return None
    bounds = np.empty(2 * start.size, dtype=np.intp)
    bounds[0::2], bounds[1::2] = start, end + 1
    # min over x[i : end_i + 1] for every start at once (the odd slots are discarded); NaN
    # propagates through np.minimum, so a run with a hole drops out.
    lows = np.minimum.reduceat(np.append(x, np.nan), bounds)[0::2]
    return _nanmax(lows)


def _median(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else None


# Where the knee stood over its toes, from fewer standing frames than this (a third of a second at
# 30 fps), is within the pose model's noise of the change-from-standing limit: the knee is then
# judged on its absolute offset over the toes, as when no standing was seen.
MIN_REFERENCE_FRAMES = 10
REFERENCE_FIELDS = ("knee_toe_px", "shank_px")


def _reference(a: np.ndarray) -> float | None:
    """A knee-to-toe reference value: the median of at least MIN_REFERENCE_FRAMES finite values."""
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size >= MIN_REFERENCE_FRAMES else None


@dataclass(frozen=True)
class StandingInputs:
    """What the standing baseline reads of each frame, per leg in SIDES order (float32: the
    report pass keeps a session's worth, 41 bytes a frame, while it walks the metrics in chunks)."""

    flexion_deg: np.ndarray  # (n, 2)
    frontal: np.ndarray  # (n,) bool
    fppa_deg: np.ndarray  # (n, 2)
    thigh_ratio: np.ndarray  # (n, 2): thigh image length over hip width
    knee_toe_px: np.ndarray  # (n, 2)
    shank_px: np.ndarray  # (n, 2)

    @classmethod
    def of(cls, m: Metrics) -> "StandingInputs":
        def legs(values: list[np.ndarray]) -> np.ndarray:
            return np.stack(values, axis=-1).astype(np.float32)

        with np.errstate(all="ignore"):
            ratio = legs([m.leg(s).thigh_px / m.hip_width_px for s in SIDES])
        return cls(
            flexion_deg=legs([m.leg(s).flexion_deg for s in SIDES]),
            frontal=np.asarray(m.view == 0),
            fppa_deg=legs([m.leg(s).fppa_deg for s in SIDES]),
            thigh_ratio=ratio,
            knee_toe_px=legs([m.leg(s).knee_toe_px for s in SIDES]),
            shank_px=legs([m.leg(s).shank_px for s in SIDES]),
        )

    @classmethod
    def concat(cls, parts: list["StandingInputs"]) -> "StandingInputs":
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__})


def standing_mask(s: StandingInputs, reps: list[RepWindow], tolerance_deg: float = 10.0) -> np.ndarray:
    """Frames outside reps, frontal, with knees within `tolerance_deg` of the straightest seen."""
    seen = np.isfinite(s.flexion_deg).sum(axis=-1)
    flex = np.where(seen > 0, np.nansum(s.flexion_deg, axis=-1) / np.maximum(seen, 1), np.nan)  # mean of the legs seen
    mask = np.isfinite(flex) & s.frontal
    for r in reps:
        mask[r.start_i : r.end_i + 1] = False
    if not mask.any():
        return mask
    return mask & (flex <= np.nanpercentile(flex[mask], 10) + tolerance_deg)


def compute_baseline(s: StandingInputs, reps: list[RepWindow]) -> Baseline:
    """The session's standing baseline (summary.json's, and the fallback of `StandingReference`),
    preferring the time before the first rep (the person settling in)."""
    mask = standing_mask(s, reps)
    if reps:
        before = mask.copy()
        before[reps[0].start_i :] = False
        if before.sum() >= MIN_REFERENCE_FRAMES:
            mask = before
    fppa: dict[Side, float | None] = {}
    ratio: dict[Side, float | None] = {}
    knee_toe: dict[Side, float | None] = {}
    shank: dict[Side, float | None] = {}
    for k, side in enumerate(SIDES):
        fppa[side] = _median(s.fppa_deg[mask, k])
        ratio[side] = _median(s.thigh_ratio[mask, k])
        knee_toe[side] = _reference(s.knee_toe_px[mask, k])
        shank[side] = _reference(s.shank_px[mask, k])
    return Baseline(fppa_deg=fppa, thigh_ratio=ratio, frames=int(mask.sum()), knee_toe_px=knee_toe, shank_px=shank)


class StandingReference:
    """Each rep's standing reference: the person's standing just before it, as the live path
    keeps it (`frame_judge.LiveBaseline`): per leg, the median of the last STANDING_FRAMES
    standing frames (`standing_mask`) with that knee bent at most STANDING_MAX_FLEXION_DEG.

    Where the knee stands over the toes depends on stance width and toe-out, and people reset
    their feet between reps (a narrow squat, then a wide one): a reference taken once, before the
    first rep, then makes a wide rep's knees read as moving inward. A leg not seen standing for
    MIN_REFERENCE_FRAMES before a rep has no knee-to-toe reference for it (live cannot know one
    either): the knee is judged on its absolute offset over the toes. Its other standing values
    (FPPA, thigh length) fall back to the session's baseline (`compute_baseline`)."""

    def __init__(self, s: StandingInputs, reps: list[RepWindow], session: Baseline) -> None:
        self.s = s
        self.session = session
        standing = standing_mask(s, reps)
        with np.errstate(invalid="ignore"):
            self._frames = [
                np.flatnonzero(standing & (s.flexion_deg[:, k] <= STANDING_MAX_FLEXION_DEG)
                               & np.isfinite(s.knee_toe_px[:, k]) & (s.shank_px[:, k] > 0))
                for k in range(len(SIDES))
            ]  # fmt: skip

    def before(self, start: int) -> Baseline:
        """The standing reference for a rep starting at frame `start`."""
        values: dict[str, dict[Side, float | None]] = {"fppa_deg": {}, "thigh_ratio": {}, "knee_toe_px": {}, "shank_px": {}}
        frames = 0
        for k, side in enumerate(SIDES):
            idx = self._frames[k]
            end = int(np.searchsorted(idx, start))
            idx = idx[max(0, end - STANDING_FRAMES) : end]
            frames = max(frames, idx.size)
            for name, out in values.items():
                if name in REFERENCE_FIELDS:  # no knee-to-toe reference but this stance's own
                    out[side] = _reference(getattr(self.s, name)[idx, k])
                else:
                    own = _median(getattr(self.s, name)[idx, k]) if idx.size else None
                    out[side] = own if own is not None else getattr(self.session, name).get(side)
        return Baseline(frames=frames, **values)


def knee_toe_change(m: Metrics, side: Side, baseline: Baseline) -> np.ndarray:
    """Per-frame knee-to-toe change from standing (standing shank lengths); NaN without a baseline."""
    ref, shank = baseline.knee_toe_px.get(side), baseline.shank_px.get(side)
    if ref is None or shank is None:
        return np.full(np.shape(m.t_s), np.nan)
    return g.knee_toe_change(m.leg(side).knee_toe_px, ref, shank)


def fppa_usable(m: Metrics, side: Side, baseline: Baseline, th: Thresholds) -> np.ndarray:
    """Frames where this leg's FPPA can be trusted (frontal view, thigh not foreshortened)."""
    leg = m.leg(side)
    ok = np.isfinite(leg.fppa_deg) & ~(leg.flexion_deg > th.fppa_max_flexion_deg)
    standing = baseline.thigh_ratio[side]
    if standing:
        with np.errstate(all="ignore"):
            ok &= (leg.thigh_px / m.hip_width_px) / standing >= th.foreshortened_thigh_ratio
    return ok


def loaded_mask(m: Metrics, rep: RepWindow) -> np.ndarray:
    """Frames of the rep in its loaded half: flexion past half-way from start to bottom.

    Knee-against-foot measures are read only there: while standing, a toes-out foot already puts
    the knee 'inside the toes'.
    """
    flex = np.fmax.reduce(np.stack([m.leg(s).flexion_deg for s in rep.legs]), axis=0)  # NaN where no leg is seen
    half = flex[rep.start_i] + 0.5 * (flex[rep.bottom_i] - flex[rep.start_i])
    mask = np.zeros(len(flex), dtype=bool)
    sl = slice(rep.start_i, rep.end_i + 1)
    mask[sl] = flex[sl] >= half if np.isfinite(half) else True
    return mask


def score_rep(m: Metrics, rep: RepWindow, baseline: Baseline, th: Thresholds) -> RepScore:
    """A rep's peaks and verdict. A hop landing (`rep.landing`) is judged by the drop-landing
    convention instead: FPPA at initial contact (the rep's start) and its peak from contact to the
    end of the landing window, against `Thresholds.valgus_landing_fppa_deg`. A sideways step
    (`rep.step`) is read the same way from its push-off, and a pivot (`rep.plant`) from its plant,
    against the usual limits; a pivot's view and yaw are read over its plant window only."""
    sl = slice(rep.start_i, rep.end_i + 1)
    b = rep.bottom_i
    peak_hi = rep.end_i + 1
    if rep.landing is not None:
        b, peak_hi = rep.start_i, rep.start_i + rep.landing.window_frames + 1
        th = dataclasses.replace(th, valgus_fppa_deg=th.valgus_landing_fppa_deg)
    elif rep.step is not None:  # a sideways step: at push-off and over the push-off window
        b, peak_hi = rep.start_i, rep.start_i + rep.step.window_frames + 1
    elif rep.plant is not None:  # a pivot: at the plant and over the plant window
        b, peak_hi = rep.start_i, rep.start_i + rep.plant.window_frames + 1
    loaded = loaded_mask(m, rep)
    # A pivot turns away from the camera after its plant: only the plant window need be frontal.
    sl = slice(rep.start_i, peak_hi) if rep.plant is not None else sl
    frontal = m.view[sl] == 0
    scoreable = bool(frontal.mean() >= 0.5) if frontal.size else False

    fppa_b: dict[Side, float | None] = {}
    peak_fppa: dict[Side, float | None] = {}
    peak_shank: dict[Side, float | None] = {}
    peak_kt: dict[Side, float | None] = {}
    peak_change: dict[Side, float | None] = {}
    usable_at_bottom = True
    toe_seen = True

    def peak(values: np.ndarray, where: np.ndarray) -> float | None:
        return held_max(m.t_s, np.where(where, values, np.nan), th.peak_hold_s, rep.start_i, peak_hi)

    for side in rep.legs:
        leg = m.leg(side)
        usable = fppa_usable(m, side, baseline, th)
        fppa_b[side] = _f(leg.fppa_deg[b]) if usable[b] else None
        peak_fppa[side] = peak(leg.fppa_deg, usable)
        peak_shank[side] = peak(leg.shank_deg, loaded)
        peak_kt[side] = peak(leg.knee_toe, loaded)
        peak_change[side] = peak(knee_toe_change(m, side, baseline), loaded)
        usable_at_bottom &= bool(usable[b])
        toe_seen &= peak_kt[side] is not None

    verdict: dict[Side, Verdict] = {}
    basis: Basis | None = None
    if scoreable:
        with np.errstate(all="ignore"):
            yaw = float(np.nanmedian(m.yaw_deg[sl])) if np.isfinite(m.yaw_deg[sl]).any() else float("nan")
        for side in rep.legs:
            measures = measures_for(usable_at_bottom, toe_seen, peak_change[side] is not None, th)
            values = {
                Measure.FPPA: peak_fppa[side],
                Measure.KNEE_TOE_CHANGE: peak_change[side],
                Measure.KNEE_TOE: peak_kt[side],
                Measure.SHANK: peak_shank[side],
            }
            leg = m.leg(side)
            seen = np.isfinite(leg.shank_deg if measures[0] in (Measure.FPPA, Measure.SHANK) else leg.knee_toe)[loaded]
            verdict[side] = _judged(measures, values, side, baseline, th, float(seen.mean()) if seen.size else 0.0, yaw)
            basis = measures[0].basis
    else:
        fppa_b = {s: None for s in rep.legs}
        peak_fppa = {s: None for s in rep.legs}

    flex = np.fmax.reduce(np.stack([m.leg(s).flexion_deg[sl] for s in rep.legs]), axis=0)
    sep = m.separation_ratio[sl]
    return RepScore(
        rep=rep,
        fppa_deg=fppa_b,
        peak_fppa_deg=peak_fppa,
        peak_shank_deg=peak_shank if scoreable else {s: None for s in rep.legs},
        peak_knee_toe_offset=peak_kt if scoreable else {s: None for s in rep.legs},
        verdict=verdict,
        basis=basis,
        depth_deg=_nanmax(flex),
        min_separation_ratio=(float(np.nanmin(sep)) if np.isfinite(sep).any() else None) if len(rep.legs) == 2 else None,
        peak_knee_toe_change=peak_change if scoreable else {s: None for s in rep.legs},
        feet_too_close=(rep.step.min_separation < th.band_min_ankle_separation
                        if rep.step is not None and rep.step.min_separation is not None else None),
    )


def _judged(
    measures: tuple[Measure, ...], values: dict[Measure, float | None], side: Side, baseline: Baseline, th: Thresholds,
    seen_share: float = 1.0, yaw_deg: float = float("nan"),
) -> Verdict:  # fmt: skip
    fppa = values.get(Measure.FPPA)
    if fppa is not None and th.baseline_relative and baseline.fppa_deg.get(side) is not None:
        values = {**values, Measure.FPPA: fppa - baseline.fppa_deg[side]}  # type: ignore[operator]
    return decide(measures, values, th, seen_share, yaw_deg)


def frame_verdict(m: Metrics, side: Side, baseline: Baseline, th: Thresholds) -> Verdict:
    """One frame's verdict on one leg (`m` holds a single frame): the rule of `score_rep` applied
    to that frame's values instead of a rep's peaks. Live cues and the annotated video read it."""
    leg = m.leg(side)
    values = {
        Measure.FPPA: _f(leg.fppa_deg),
        Measure.KNEE_TOE_CHANGE: _f(knee_toe_change(m, side, baseline)),
        Measure.KNEE_TOE: _f(leg.knee_toe),
        Measure.SHANK: _f(leg.shank_deg),
    }
    usable = bool(fppa_usable(m, side, baseline, th)) and values[Measure.FPPA] is not None
    known = values[Measure.KNEE_TOE_CHANGE] is not None
    measures = measures_for(usable, values[Measure.KNEE_TOE] is not None, known, th)
    return _judged(measures, values, side, baseline, th, yaw_deg=float(m.yaw_deg))


@dataclass(frozen=True)
class HoldScore:
    """A balance hold with what happened during it.

    Sway is the root-mean-square sideways wander of a point about its mean over the hold, in
    body lengths (shoulder midpoint to mid-hip plus hip to ankle, the same yardstick near or far
    from the camera): `sway` for the pelvis (mid-hip), `knee_sway` for the stance knee. 0.01 is
    about 1.7 cm on a 1.7 m person.
    """

    hold: HoldWindow
    peak_fppa_deg: float | None  # most valgus FPPA of the stance leg while held (frontal view only)
    verdict: Verdict  # on the peak FPPA
    sway: float | None
    knee_sway: float | None

    @property
    def valgus(self) -> bool | None:
        return self.verdict.valgus


def _rms_sway(x: np.ndarray, scale: float) -> float | None:
    x = x[np.isfinite(x)]
    if x.size < 3 or not np.isfinite(scale) or scale <= 0:
        return None
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)) / scale)


def score_hold(m: Metrics, hold: HoldWindow, baseline: Baseline, th: Thresholds) -> HoldScore:
    sl = slice(hold.start_i, hold.end_i + 1)
    leg = m.leg(hold.leg)
    usable = fppa_usable(m, hold.leg, baseline, th)[sl]
    peak = held_max(m.t_s[sl], np.where(usable, leg.fppa_deg[sl], np.nan), th.peak_hold_s)  # only while held
    body = m.body_px[sl]
    scale = float(np.nanmedian(body)) if np.isfinite(body).any() else float("nan")
    pelvis_x = (m.left.hip_x[sl] + m.right.hip_x[sl]) / 2
    return HoldScore(
        hold=hold,
        peak_fppa_deg=peak,
        verdict=_judged((Measure.FPPA,), {Measure.FPPA: peak}, hold.leg, baseline, th),
        sway=_rms_sway(pelvis_x, scale),
        knee_sway=_rms_sway(leg.knee_x[sl], scale),
    )
