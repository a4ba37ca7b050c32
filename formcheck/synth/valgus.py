"""Choosing medial knee shifts that make a rep's valgus unmistakable in a frontal view.

The same shift in metres reads very differently per exercise: a wide squat stance or a side
lunge starts from a varus-looking knee, a narrow single-leg squat from a straight one. So a
sample asks for a target peak FPPA as seen by a frontal camera at its height and distance, and
gets the shift (per working leg) that produces it. Clean reps keep zero shift; their frontal
peak FPPA stays near 0 because a clean knee tracks over the foot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from formcheck.core.landmarks import Side
from formcheck.synth.body import BodyShape
from formcheck.synth.camera import Camera
from formcheck.synth.motion import MotionParams, build_motion
from formcheck.synth.truth import leg_measures, projected_landmarks

log = logging.getLogger(__name__)

MAX_SHIFT_M = 0.20


def frontal_peak_fppa(params: MotionParams, body: BodyShape, camera: Camera, leg: Side, shift_m: float) -> float:
    """Peak FPPA of `leg` over one rep with `leg` working and shifted, seen from the front."""
    one = replace(params, reps=1, alternate=False, working_leg=leg, medial_shift_m=({leg.value: shift_m},),
                  lead_in_s=0.5, tail_s=0.2, rest_s=0.0)
    m = build_motion(one, body)
    front = replace(camera, yaw_deg=0.0)
    fppa = leg_measures(projected_landmarks(m, front))[leg.value]["fppa_deg"]
    r = m.reps[0]
    return float(np.max(fppa[r.start_frame : r.end_frame + 1]))


def shift_for_fppa(params: MotionParams, body: BodyShape, camera: Camera, leg: Side, target_deg: float) -> float:
    """Smallest medial shift (metres) whose frontal peak FPPA reaches `target_deg` (bisection)."""
    lo, hi = 0.0, MAX_SHIFT_M
    if frontal_peak_fppa(params, body, camera, leg, hi) < target_deg:
        log.warning("%s: %.0f deg FPPA needs more than %.2f m of knee shift; using that", params.exercise,
                    target_deg, hi)
        return hi
    for _ in range(12):
        mid = (lo + hi) / 2
        if frontal_peak_fppa(params, body, camera, leg, mid) < target_deg:
            lo = mid
        else:
            hi = mid
    return round(hi, 4)


def shift_plan(params: MotionParams, body: BodyShape, camera: Camera, caving: Sequence[Sequence[Side]],
               target_deg: float) -> tuple[dict, ...]:
    """Per-rep {leg: shift} for `caving[i]` = the legs that cave on rep i (empty = clean rep)."""
    cache: dict[Side, float] = {}
    out = []
    for legs in caving:
        rep = {}
        for leg in legs:
            if leg not in cache:
                cache[leg] = shift_for_fppa(params, body, camera, leg, target_deg)
            rep[leg.value] = cache[leg]
        out.append(rep)
    return tuple(out)
