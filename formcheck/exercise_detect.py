"""`--exercise auto`: which supported exercise a clip shows, and how sure that is.

Rules on what the body does, measured once over the whole clip (report pass), not a learned
model: lying on the side (trunk near horizontal) is side-lying hip work; one foot held off the
floor for most of the clip without the stance leg bending is a balance hold; otherwise the reps
found by the squat counter (both legs shortening in the image) are compared at their bottoms:
knees at the same height over still feet is a squat; one knee near the floor is a lunge; one
leg bent with the other straight is a side lunge. Anything else, or evidence split between
answers, is "unsure": a wrong name would count the wrong reps, an honest "unsure" asks the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from formcheck.metrics import Metrics
from formcheck.trackers.signals import knee_height

UNSURE = "unsure"
MIN_CONFIDENCE = 0.6
# A squat's feet stay planted: from start to bottom the ankles of real squats moved at most 0.11
# body lengths (model jitter), the synthetic step-down at yaw 15, whose reps otherwise look like
# squats, 0.27-0.31 (the free foot lowers to the floor).
SQUAT_FEET_MOVE = 0.15


@dataclass(frozen=True)
class Detection:
    name: str  # a tracker name, or "unsure"
    confidence: float  # 0-1: share of the evidence (reps, frames) that agrees
    reasons: list[str] = field(default_factory=list)


def _feet_moved(m: Metrics, start: int, bottom: int) -> float:
    """How far the ankle that moved most travelled in the image from a rep's start to its bottom,
    in body lengths (NaN unknown)."""
    moves = [math.hypot(float(leg.ankle_x[bottom] - leg.ankle_x[start]), float(leg.ankle_y[bottom] - leg.ankle_y[start])) for leg in (m.left, m.right)]
    return max(moves) / float(m.body_px[bottom]) if all(math.isfinite(v) for v in moves) else math.nan


def _rep_shapes(m: Metrics) -> list[str]:
    """For each rep the squat counter finds: 'squat', 'lunge', 'side-lunge' or 'unclear'."""
    from formcheck.trackers.squat import SquatTracker

    tracker = SquatTracker()
    shorts = []
    for i in range(len(m.t_s)):
        tracker.update(i, m.at(i))
        shorts.append(dict(tracker._short))
    tracker.finish()
    shapes = []
    for rep in tracker.state.reps:
        b = m.at(rep.bottom_i)
        kh = [knee_height(b, s) for s in (tracker.state.working_legs)]
        sh = [shorts[rep.bottom_i][s] for s in tracker.state.working_legs]
        if not all(math.isfinite(v) for v in kh + sh):
            shapes.append("unclear")
            continue
        knee_ratio = min(kh) / max(kh) if max(kh) > 0 else 0.0
        leg_ratio = min(sh) / max(sh) if max(sh) > 0 else 0.0
        if knee_ratio > 0.7 and leg_ratio > 0.6:
            shapes.append("squat" if _feet_moved(m, rep.start_i, rep.bottom_i) <= SQUAT_FEET_MOVE else "unclear")
        elif leg_ratio < 0.35:
            shapes.append("side-lunge")
        elif knee_ratio < 0.5:
            shapes.append("lunge")
        else:
            shapes.append("unclear")
    return shapes


def _count(m: Metrics, exercise: str) -> int:
    from formcheck.trackers import tracker_class

    tracker = tracker_class(exercise)()
    for i in range(len(m.t_s)):
        tracker.update(i, m.at(i))
    tracker.finish()
    return len(tracker.state.reps)


def detect_exercise(m: Metrics) -> Detection:
    pose = m.pose & np.isfinite(m.body_px)
    if pose.sum() < 10:
        return Detection(UNSURE, 0.0, ["too few frames with a person"])
    lean = np.abs(m.trunk_lean_deg[pose])
    lying = float(np.nanmean(lean > 60)) if np.isfinite(lean).any() else 0.0
    if lying > 0.6:
        flex = np.nanmedian(np.fmax(m.left.flexion_deg, m.right.flexion_deg)[pose])
        name = "clamshell" if flex > 50 else "side-lying-leg-raise"
        return Detection(name, round(lying * 0.8, 2), [f"lying on the side in {lying:.0%} of frames"])
    with np.errstate(invalid="ignore"):
        lift = np.abs(m.left.ankle_y - m.right.ankle_y) / m.body_px
    raised = float(np.mean(lift[pose] > 0.06))  # feet at different heights (a step, a split stance)
    lifted = float(np.mean(lift[pose] > 0.1))  # one foot well off the floor
    if lifted > 0.5:
        bends = _count(m, "single-leg-squat")
        if bends >= 3 and lifted > 0.75:
            return Detection("single-leg-squat", round(lifted, 2), [f"one foot off the floor in {lifted:.0%} of frames, {bends} single-leg bends"])
        if bends == 0:
            return Detection("balance", round(lifted, 2), [f"one foot off the floor in {lifted:.0%} of frames, no bends"])
        return Detection(UNSURE, 0.5, [f"one foot off the floor in {lifted:.0%} of frames, {bends} bends: balance or single-leg squat"])
    shapes = _rep_shapes(m)
    if not shapes:
        return Detection(UNSURE, 0.0, ["no repetitions of a squat, lunge or side lunge were found"])
    best = max(set(shapes), key=shapes.count)
    share = shapes.count(best) / len(shapes)
    reasons = [f"{shapes.count(best)} of {len(shapes)} reps look like a {best}"]
    if best == "unclear" or share < MIN_CONFIDENCE or (best in ("squat", "side-lunge") and raised > 0.3):
        return Detection(UNSURE, round(share, 2), reasons + ["the reps do not agree on one exercise"])
    return Detection(best, round(share, 2), reasons)
