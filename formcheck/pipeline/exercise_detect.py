"""`--exercise auto`: which supported exercise a clip shows, and how sure that is.

Rules on what the body does, measured in one walk over the whole clip (report pass), not a
learned model: lying on the side (trunk near horizontal) is side-lying hip work; one foot held
off the floor for most of the clip without the stance leg bending is a balance hold; otherwise
the reps found by the squat counter (both legs shortening in the image) are compared at their
bottoms: knees at the same height over still feet is a squat; one knee near the floor is a
lunge; one leg bent with the other straight is a side lunge. The whole body leaving the floor
again and again (the pelvis above standing, then a landing) is hopping. Anything else, or evidence split
between answers, is "unsure": a wrong name would count the wrong reps, an honest "unsure" asks
the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from formcheck.core.landmarks import SIDES
from formcheck.core.metrics import Metrics
from formcheck.pipeline.report_frames import ReportFrames
from formcheck.trackers.base import Tracker
from formcheck.trackers.signals import knee_height

UNSURE = "unsure"
MIN_CONFIDENCE = 0.6
# A squat's feet stay planted: from start to bottom the ankles of real squats moved at most 0.11
# body lengths (model jitter), the synthetic step-down at yaw 15, whose reps otherwise look like
# squats, 0.27-0.31 (the free foot lowers to the floor).
SQUAT_FEET_MOVE = 0.15
# Hops: at least MIN_HOPS landings after a flight in which the pelvis and both ankles rose above
# their standing heights by FLIGHT_RISE body lengths (about 3.5 cm; a 10 cm hop lifts them about
# 0.06) within FLIGHT_LOOK_S before the landing. The feet alone are not enough: in side and oblique views both
# ankles of squats and lunges read as off the floor now and then, the pelvis never above standing.
MIN_HOPS = 3
# Feet whose heights differ by more than this (body lengths) are not on one floor: a step, a split
# stance. At a side lunge's bottom they differ by at most 0.03 (the synthetic side lunges and
# lateral_lunge_front_01; lateral_lunge_front_02's one shallow rep reads 0.16, unsure either way);
# at a step-down's or step-up's, whose straight leg also reads as a side lunge's, by 0.11-0.26.
FEET_LEVEL = 0.06
HOP_SHARE = 0.8  # and those landings at least this share of the bends the squat counter finds
FLIGHT_RISE = 0.02
FLIGHT_LOOK_S = 0.25
STANDING_FLEXION_DEG = 20.0


@dataclass(frozen=True)
class Detection:
    name: str  # a tracker name, or "unsure"
    confidence: float  # 0-1: share of the evidence (reps, frames) that agrees
    reasons: list[str] = field(default_factory=list)


def _feet_moved(start: Metrics, bottom: Metrics) -> float:
    """How far the ankle that moved most travelled in the image from a rep's start to its bottom
    (one-frame metrics of each), in body lengths (NaN unknown)."""
    moves = [
        math.hypot(float(start.leg(s).ankle_x - bottom.leg(s).ankle_x), float(start.leg(s).ankle_y - bottom.leg(s).ankle_y))
        for s in SIDES
    ]
    return max(moves) / float(bottom.body_px) if all(math.isfinite(v) for v in moves) else math.nan


@dataclass
class _Evidence:
    """What the rules read of every frame, gathered in one walk over the session."""

    pose: np.ndarray  # a person with a known body size
    lean_deg: np.ndarray
    flexion_deg: np.ndarray  # the more bent knee
    lift: np.ndarray  # feet height difference, body lengths
    shorts: np.ndarray  # (n, 2): the squat counter's leg shortening, per leg in SIDES order
    squat: Tracker
    single_leg: Tracker


def _gather(frames: ReportFrames) -> _Evidence:
    from formcheck.trackers import tracker_class

    n = len(frames)
    ev = _Evidence(
        pose=np.zeros(n, dtype=bool),
        lean_deg=np.full(n, np.nan, dtype=np.float32),
        flexion_deg=np.full(n, np.nan, dtype=np.float32),
        lift=np.full(n, np.nan, dtype=np.float32),
        shorts=np.full((n, 2), np.nan, dtype=np.float32),
        squat=tracker_class("squat")(),
        single_leg=tracker_class("single-leg-squat")(),
    )
    for w in frames.chunks():
        m, sl = w.metrics, slice(w.lo, w.hi)
        for k in range(w.hi - w.lo):
            frame = m.at(k)
            ev.squat.update(w.lo + k, frame)
            ev.single_leg.update(w.lo + k, frame)
            ev.shorts[w.lo + k] = [ev.squat._short.get(s, math.nan) for s in SIDES]
        ev.pose[sl] = m.pose & np.isfinite(m.body_px)
        ev.lean_deg[sl] = np.abs(m.trunk_lean_deg)
        ev.flexion_deg[sl] = np.fmax(m.left.flexion_deg, m.right.flexion_deg)
        with np.errstate(invalid="ignore", divide="ignore"):
            ev.lift[sl] = np.abs(m.left.ankle_y - m.right.ankle_y) / m.body_px
    ev.squat.finish()
    ev.single_leg.finish()
    return ev


def _rep_shapes(frames: ReportFrames, ev: _Evidence) -> list[str]:
    """For each rep the squat counter finds: 'squat', 'lunge', 'side-lunge' or 'unclear'."""
    tracker = ev.squat
    shapes = []
    for rep in tracker.state.reps:
        b = frames.metrics(rep.bottom_i, rep.bottom_i + 1).at(0)
        kh = [knee_height(b, s) for s in tracker.state.working_legs]
        sh = [float(ev.shorts[rep.bottom_i, SIDES.index(s)]) for s in tracker.state.working_legs]
        if not all(math.isfinite(v) for v in kh + sh):
            shapes.append("unclear")
            continue
        knee_ratio = min(kh) / max(kh) if max(kh) > 0 else 0.0
        leg_ratio = min(sh) / max(sh) if max(sh) > 0 else 0.0
        if knee_ratio > 0.7 and leg_ratio > 0.6:
            start = frames.metrics(rep.start_i, rep.start_i + 1).at(0)
            shapes.append("squat" if _feet_moved(start, b) <= SQUAT_FEET_MOVE else "unclear")
        elif leg_ratio < 0.35:  # one leg straight: a side lunge if both feet are on one floor
            shapes.append("side-lunge" if ev.lift[rep.bottom_i] <= FEET_LEVEL else "unclear")
        elif knee_ratio < 0.5:
            shapes.append("lunge")
        else:
            shapes.append("unclear")
    return shapes


def count_hops(frames: ReportFrames) -> int:
    """Landings after flights that lifted the whole body: the hop tracker's landings, on frames
    that keep fast moves (not despiked), each preceded by the pelvis and both ankles rising above
    where they stood. Each ankle against its own standing height, so a foot resting on a step
    (a step-down: the other foot dips to the floor and comes back) is not taken for a flight."""
    from formcheck.trackers import tracker_class

    hop = tracker_class("hop")()
    n = len(frames)
    pelvis, body, flexion = (np.full(n, np.nan) for _ in range(3))
    ankles = np.full((n, 2), np.nan)
    for w in frames.chunks():
        m, sl = w.metrics, slice(w.lo, w.hi)
        for k in range(w.hi - w.lo):
            hop.update(w.lo + k, m.at(k))
        pelvis[sl] = (m.left.hip_y + m.right.hip_y) / 2
        ankles[sl, 0], ankles[sl, 1] = m.left.ankle_y, m.right.ankle_y
        body[sl], flexion[sl] = m.body_px, np.fmax(m.left.flexion_deg, m.right.flexion_deg)
    hop.finish()
    standing = np.isfinite(pelvis) & np.isfinite(body) & (flexion <= STANDING_FLEXION_DEG)
    if standing.sum() < 5:
        return 0
    rise = FLIGHT_RISE * np.median(body[standing])
    with np.errstate(invalid="ignore"):
        above = np.median(pelvis[standing]) - pelvis >= rise  # image y grows down
        above &= (np.nanmedian(ankles[standing], axis=0) - ankles >= rise).all(axis=1)
    look = max(1, round(FLIGHT_LOOK_S * frames.fs))
    return sum(bool(above[max(0, r.start_i - look) : r.start_i].any()) for r in hop.state.reps)


def detect_exercise(frames: ReportFrames, flights: ReportFrames | None = None) -> Detection:
    """`flights`: the same recording without despiking, where hops' flights survive (None: hops
    are not looked for)."""
    ev = _gather(frames)
    pose = ev.pose
    if pose.sum() < 10:
        return Detection(UNSURE, 0.0, ["too few frames with a person"])
    hops = count_hops(flights) if flights is not None else 0
    if hops >= MIN_HOPS:
        bends = len(ev.squat.state.reps)
        share = hops / max(hops, bends)
        reasons = [f"{hops} landings after the whole body left the floor, {bends} bends"]
        if share >= HOP_SHARE:
            return Detection("hop", round(share, 2), reasons)
        return Detection(UNSURE, round(share, 2), reasons + ["hops and other bends: say which exercise"])
    lean = ev.lean_deg[pose]
    lying = float(np.nanmean(lean > 60)) if np.isfinite(lean).any() else 0.0
    if lying > 0.6:
        flex = np.nanmedian(ev.flexion_deg[pose])
        name = "clamshell" if flex > 50 else "side-lying-leg-raise"
        return Detection(name, round(lying * 0.8, 2), [f"lying on the side in {lying:.0%} of frames"])
    lift = ev.lift[pose]
    raised = float(np.mean(lift > FEET_LEVEL))  # feet at different heights (a step, a split stance)
    lifted = float(np.mean(lift > 0.1))  # one foot well off the floor
    if lifted > 0.5:
        bends = len(ev.single_leg.state.reps)
        if bends >= 3 and lifted > 0.75:
            return Detection("single-leg-squat", round(lifted, 2), [f"one foot off the floor in {lifted:.0%} of frames, {bends} single-leg bends"])
        if bends == 0:
            return Detection("balance", round(lifted, 2), [f"one foot off the floor in {lifted:.0%} of frames, no bends"])
        return Detection(UNSURE, 0.5, [f"one foot off the floor in {lifted:.0%} of frames, {bends} bends: balance or single-leg squat"])
    shapes = _rep_shapes(frames, ev)
    if not shapes:
        return Detection(UNSURE, 0.0, ["no repetitions of a squat, lunge or side lunge were found"])
    best = max(set(shapes), key=shapes.count)
    share = shapes.count(best) / len(shapes)
    reasons = [f"{shapes.count(best)} of {len(shapes)} reps look like a {best}"]
    if best == "unclear" or share < MIN_CONFIDENCE or (best in ("squat", "side-lunge") and raised > 0.3):
        return Detection(UNSURE, round(share, 2), reasons + ["the reps do not agree on one exercise"])
    return Detection(best, round(share, 2), reasons)
