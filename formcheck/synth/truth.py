"""Ground truth for a synthetic clip, as written beside it in `<clip>.truth.json`.

How the truth is defined:

- `landmarks_px`: the pinhole projection of the skeleton points the renderer draws at each
  BlazePose landmark (joints for limbs and trunk, drawn eyes/mouth/ears/fingers for the rest),
  in pixels of the clip, OpenCV convention (integer = pixel centre). Occluded points are still
  given: the truth is the geometry, not what is visible.
- `legs.<side>.fppa_deg`, `shank_deg`, `knee_toe`: formcheck.core.geometry's `fppa_deg`,
  `shank_angle_deg` and `knee_toe_offset` applied to those projected points, so the truth uses
  exactly the sign conventions the analysis uses (positive = knee medial). They are image
  measures: at camera yaw 15-30 degrees they differ from the frontal value, as they do for a
  real camera.
- `legs.<side>.knee_flexion_deg`: from the 3D skeleton (formcheck.core.geometry.knee_flexion_deg).
- `reps[]`: windows from the script: start = first frame of the rep's motion, bottom = deepest
  knee flexion of the working legs (in the loaded part of the rep), end = back to standing.
  `medial_shift_m` is the knee's actual 3D displacement toward the midline at the bottom;
  `valgus[leg]` is true when that shift is at least VALGUS_SHIFT_M. The scripted shifts are
  either 0 (clean) or large enough that a frontal clip's peak FPPA is above 15 degrees, while a
  clean rep's stays below 5: the flag truth is never a borderline call. `fppa_bottom_deg` and
  `peak_fppa_deg` (the most valgus value from start to end) are per working leg.
- `reps[].rom_deg` (knee-rom only): per working leg, `max_flexion` and `fullest_extension`, the
  highest and lowest 3D knee flexion of the skeleton from the rep's start to its end.
- `reps[].landing` (hop only): each rep is a landing; `contact_frame`, `takeoff_frame` (None for
  the last, which stands up) and `contact_time_s` read off the skeleton's feet, FPPA at contact
  and its peak over the 100 ms after it, per leg. `valgus` is the rep's medial shift as above.
- `reps[].step` (band-walk, side-push): each rep is a sideways step from push-off (the leading
  foot starts out) to the trailing foot down; `direction` (the leading foot's side), the
  `pushing_leg` (the trailing one), `push_off_frame`, FPPA at push-off and its peak over the 0.2 s
  after it per working leg, `min_separation` (the narrowest ankle distance of the projected
  landmarks while the trailing foot closed in, over the standing hip width: the median projected
  hip distance over the first second) and `flexion_held_deg` (the least mean 3D knee flexion
  from push-off to the step's end). `valgus` is the rep's medial shift at push-off.
- `reps[].slide` (adduction-slide): each rep is a slide from the straight leg's foot starting in to
  it back out; `bent_leg` (the rep's leg) and `straight_leg`, `start_frame`, `closest_frame` (the
  rep's bottom, the foot in), and `range`: the ankles' distance of the projected landmarks at the
  start less that at the closest, over the straight leg's projected hip-to-ankle distance at the
  start (its full length), with both separations (`start_separation`, `min_separation`) in the
  same unit. FPPA at the closest and its peak over the slide are the rep's `fppa_bottom_deg` and
  `peak_fppa_deg`; `valgus` is the bent knee's medial shift at the closest.
- `reps[].plant` (pivot): each rep is a pivot from the plant (the frame the stepping foot lands,
  the rep's start and bottom) to the end of the turn (its end); `leg` (the planted one),
  `plant_frame`, FPPA at the plant and its peak over the 0.2 s after it, and `trunk_turn_deg`: the
  skeleton's shoulder line's rotation about the vertical from the plant to the end, degrees.
- `holds[]`: balance holds: the stance leg, when the free foot left the floor and came back
  down, and the times the free foot touched down in between. `progression`: its name as
  formcheck names it ("flat", or "tiptoes", "head-turns", "reaches" joined by "+", from the
  script), `tiptoe_deg` (the stance foot's toe-down pitch), `heel_rise_m` (the skeleton's stance
  heel above where it stood, median over the hold) and `heel_rise` (the projected heel over its
  toe, over the body length as core/metrics measures it, median over the hold less its median
  over the second before it), `head_turns[]` (start and end seconds and the scripted turn in
  degrees, + to the person's left) and `reaches[]` (the free leg's start and end seconds and
  `distance`: the skeleton's free ankle furthest from the vertical through the mid-hip, over
  thigh plus shank).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from formcheck.core.geometry import fppa_deg, knee_toe_offset, leg_points, shank_angle_deg
from formcheck.core.landmarks import SIDES, PoseLandmark, Side
from formcheck.synth.body import J, blazepose_points, side_joint
from formcheck.synth.camera import Camera
from formcheck.synth.motion import Motion

VALGUS_SHIFT_M = 0.03
SCHEMA = "formcheck-synth-truth/1"


def projected_landmarks(motion: Motion, camera: Camera) -> np.ndarray:
    """(T, 33, 2) pixel centres of the drawn landmarks."""
    uv, _ = camera.project(blazepose_points(motion.joints))
    return uv


def leg_measures(image_xy: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Per-leg FPPA, shank angle and knee-to-toe offset of (T, 33, 2) pixel landmarks."""
    out = {}
    for side in SIDES:
        hip, knee, ankle, toe, other = leg_points(image_xy, side)
        out[side.value] = {
            "fppa_deg": fppa_deg(hip, knee, ankle, other),
            "shank_deg": shank_angle_deg(hip, knee, ankle, other),
            "knee_toe": knee_toe_offset(hip, knee, ankle, toe, other),
        }
    return out


def _r(a, nd: int = 2) -> list:
    return [round(float(v), nd) for v in np.asarray(a)]


def _rom(motion: Motion, legs, win: slice) -> dict:  # noqa: ANN001 - tuple of Side
    return {s.value: {"max_flexion": round(float(np.max(motion.flexion_deg[s][win])), 2),
                      "fullest_extension": round(float(np.min(motion.flexion_deg[s][win])), 2)} for s in legs}


def _landing(motion: Motion, r, legs: dict) -> dict:  # noqa: ANN001 - a motion.Rep
    """A hop landing read off the skeleton's feet, the rep's legs (a one-leg hop's free foot never
    lands): contact = the rep's first frame with one of them on the floor (ankle within 1 mm of
    its standing height), take-off = the first frame after it with all of them off (None for the
    last landing, which stands up); FPPA at contact and its peak over the 100 ms after it (the
    frames within 0.1 s of contact)."""
    fps = motion.params.fps
    height = np.stack([motion.joints[:, side_joint("ANKLE", s), 1] for s in r.legs])
    off = (height - height[:, :1] > 1e-3).all(axis=0)
    c = r.start_frame + int(np.argmax(~off[r.start_frame:]))
    after = np.flatnonzero(off[c:])
    takeoff = c + int(after[0]) if after.size else None
    win = slice(c, c + int(np.floor(0.1 * fps + 1e-9)) + 1)
    return {
        "contact_frame": c,
        "takeoff_frame": takeoff,
        "contact_time_s": round((takeoff - c) / fps, 3) if takeoff is not None else None,
        "fppa_contact_deg": {s.value: round(float(legs[s.value]["fppa_deg"][c]), 2) for s in r.legs},
        "peak_fppa_window_deg": {s.value: round(float(np.max(legs[s.value]["fppa_deg"][win])), 2) for s in r.legs},
    }


def _progression(motion: Motion, h, xy: np.ndarray) -> dict:  # noqa: ANN001 - a motion.Hold
    """A balance hold's progression from the script, the skeleton and the projected landmarks."""
    fps = motion.params.fps
    a, b = int(round(h.start_s * fps)), int(round(h.end_s * fps))
    w, o = h.leg, h.leg.other
    heel = motion.joints[:, side_joint("HEEL", w), 1]
    L, R = (leg_points(xy, s) for s in (Side.LEFT, Side.RIGHT))
    torso = np.linalg.norm((xy[:, int(PoseLandmark.LEFT_SHOULDER)] + xy[:, int(PoseLandmark.RIGHT_SHOULDER)]) / 2
                           - (L[0] + R[0]) / 2, axis=-1)
    body = torso + np.fmax(np.linalg.norm(L[2] - L[0], axis=-1), np.linalg.norm(R[2] - R[0], axis=-1))
    stance = L if w is Side.LEFT else R
    lm = PoseLandmark.LEFT_HEEL if w is Side.LEFT else PoseLandmark.RIGHT_HEEL
    over = (stance[3][:, 1] - xy[:, int(lm), 1]) / body
    flat = float(np.median(over[max(0, a - int(fps)) : a]))
    ankle = motion.joints[:, side_joint("ANKLE", o)] - motion.joints[:, J.PELVIS]  # from the mid-hip
    out = np.hypot(ankle[:, 0], ankle[:, 2]) / motion.body.leg
    reaches = [{"limb": "free-leg", "start_s": s0, "end_s": s1,
                "distance": round(float(np.max(out[int(round(s0 * fps)) : int(round(s1 * fps)) + 1])), 4)}
               for s0, s1 in h.reaches]
    kinds = [k for k, on in (("tiptoes", h.tiptoe_deg > 0), ("head-turns", h.head_turns), ("reaches", h.reaches)) if on]
    return {
        "progression": "+".join(kinds) or "flat",
        "tiptoe_deg": h.tiptoe_deg,
        "heel_rise_m": round(float(np.median(heel[a : b + 1] - heel[0])), 4),
        "heel_rise": round(float(np.median(over[a : b + 1])) - flat, 4) + 0.0,
        "head_turns": [{"start_s": s0, "end_s": s1, "deg": d} for s0, s1, d in h.head_turns],
        "reaches": reaches,
    }


def _step(motion: Motion, r, legs: dict, xy: np.ndarray) -> dict:  # noqa: ANN001 - a motion.Rep
    """A sideways step read off the projected landmarks and the skeleton."""
    fps = motion.params.fps
    lead = r.direction
    hips = np.abs(xy[: int(fps), int(PoseLandmark.LEFT_HIP), 0] - xy[: int(fps), int(PoseLandmark.RIGHT_HIP), 0])
    gap = np.abs(xy[:, int(PoseLandmark.LEFT_ANKLE), 0] - xy[:, int(PoseLandmark.RIGHT_ANKLE), 0]) / float(np.median(hips))
    p, e = r.start_frame, r.end_frame
    wide = p + int(np.argmax(gap[p : e + 1]))
    narrow = wide + int(np.argmin(gap[wide : e + 1]))
    win = slice(p, p + int(np.floor(0.2 * fps + 1e-9)) + 1)
    flex = (motion.flexion_deg[SIDES[0]] + motion.flexion_deg[SIDES[1]]) / 2
    return {
        "direction": lead.value,
        "pushing_leg": lead.other.value,
        "push_off_frame": p,
        "fppa_push_off_deg": {sd.value: round(float(legs[sd.value]["fppa_deg"][p]), 2) for sd in r.legs},
        "peak_fppa_push_off_deg": {sd.value: round(float(np.max(legs[sd.value]["fppa_deg"][win])), 2) for sd in r.legs},
        "min_separation": round(float(gap[narrow]), 3),
        "min_separation_frame": narrow,
        "flexion_held_deg": round(float(np.min(flex[p : e + 1])), 1),
    }


def _slide(r, xy: np.ndarray) -> dict:  # noqa: ANN001 - a motion.Rep
    """An adduction slide read off the projected landmarks."""
    bent = r.legs[0]
    straight = bent.other
    a, c = r.start_frame, r.bottom_frame

    def point(name: str, side, i: int) -> np.ndarray:  # noqa: ANN001 - a Side
        return xy[i, int(PoseLandmark[f"{side.name}_{name}"])]

    gap = [float(np.linalg.norm(point("ANKLE", Side.LEFT, i) - point("ANKLE", Side.RIGHT, i))) for i in (a, c)]
    leg = float(np.linalg.norm(point("HIP", straight, a) - point("ANKLE", straight, a)))
    return {
        "bent_leg": bent.value,
        "straight_leg": straight.value,
        "start_frame": a,
        "closest_frame": c,
        "range": round((gap[0] - gap[1]) / leg, 4),
        "start_separation": round(gap[0] / leg, 4),
        "min_separation": round(gap[1] / leg, 4),
    }


def _plant(motion: Motion, r, legs: dict) -> dict:  # noqa: ANN001 - a motion.Rep
    """A pivot read off the skeleton: its plant, FPPA there and over 0.2 s, and the trunk turn."""
    fps = motion.params.fps
    p, e = r.start_frame, r.end_frame
    win = slice(p, p + int(np.floor(0.2 * fps + 1e-9)) + 1)
    d = motion.joints[:, side_joint("SHOULDER", Side.LEFT)] - motion.joints[:, side_joint("SHOULDER", Side.RIGHT)]
    heading = np.degrees(np.arctan2(d[:, 2], d[:, 0]))
    leg = r.legs[0].value
    return {
        "leg": leg,
        "plant_frame": p,
        "fppa_plant_deg": round(float(legs[leg]["fppa_deg"][p]), 2),
        "peak_fppa_plant_deg": round(float(np.max(legs[leg]["fppa_deg"][win])), 2),
        "trunk_turn_deg": round(float(abs(heading[e] - heading[p])), 2),
    }


def build_truth(motion: Motion, camera: Camera, clip_name: str, render_params: dict) -> dict:
    """The truth document (plain JSON types) for a rendered motion."""
    xy = projected_landmarks(motion, camera)
    legs = leg_measures(xy)
    for side in SIDES:
        legs[side.value]["knee_flexion_deg"] = motion.flexion_deg[side]
    fps = motion.params.fps
    reps = []
    for r in motion.reps:
        win = slice(r.start_frame, r.end_frame + 1)
        reps.append({
            "index": r.index,
            "start_frame": r.start_frame,
            "bottom_frame": r.bottom_frame,
            "end_frame": r.end_frame,
            "start_s": round(r.start_frame / fps, 3),
            "bottom_s": round(r.bottom_frame / fps, 3),
            "end_s": round(r.end_frame / fps, 3),
            "legs": [s.value for s in r.legs],
            "valgus": {s.value: bool(r.medial_shift_m[s] >= VALGUS_SHIFT_M) for s in r.legs},
            "medial_shift_m": {s.value: round(r.medial_shift_m[s], 4) for s in r.legs},
            "fppa_bottom_deg": {s.value: round(float(legs[s.value]["fppa_deg"][r.bottom_frame]), 2) for s in r.legs},
            "peak_fppa_deg": {s.value: round(float(np.max(legs[s.value]["fppa_deg"][win])), 2) for s in r.legs},
            "knee_flexion_bottom_deg": {s.value: round(float(motion.flexion_deg[s][r.bottom_frame]), 1)
                                        for s in r.legs},
            **({"rom_deg": _rom(motion, r.legs, win)} if motion.params.exercise == "knee-rom" else {}),
            **({"landing": _landing(motion, r, legs)} if motion.params.exercise == "hop" else {}),
            **({"step": _step(motion, r, legs, xy)} if r.direction is not None else {}),
            **({"slide": _slide(r, xy)} if motion.params.exercise == "adduction-slide" else {}),
            **({"plant": _plant(motion, r, legs)} if motion.params.exercise == "pivot" else {}),
        })
    holds = [{"leg": h.leg.value, "start_s": h.start_s, "end_s": h.end_s, "touchdowns": h.touchdowns,
              **_progression(motion, h, xy)} for h in motion.holds]
    return {
        "schema": SCHEMA,
        "clip": clip_name,
        "exercise": motion.params.exercise,
        "fps": fps,
        "frame_count": len(motion.t_s),
        "width": camera.width,
        "height": camera.height,
        "render": render_params,
        "t_s": _r(motion.t_s, 4),
        "landmarks_px": {
            lm.name.lower(): {"index": int(lm), "x": _r(xy[:, int(lm), 0], 1), "y": _r(xy[:, int(lm), 1], 1)}
            for lm in PoseLandmark
        },
        "legs": {side: {k: _r(v) for k, v in m.items()} for side, m in legs.items()},
        "reps": reps,
        "holds": holds,
    }


def write_truth(truth: dict, path: pathlib.Path) -> None:
    path.write_text(json.dumps(truth, separators=(",", ":")) + "\n")


def load_truth(path: pathlib.Path) -> dict:
    return json.loads(pathlib.Path(path).read_text())


def truth_landmarks(truth: dict) -> np.ndarray:
    """(T, 33, 2) pixel landmarks back from a truth document."""
    n = truth["frame_count"]
    out = np.full((n, len(PoseLandmark), 2), np.nan)
    for lm in truth["landmarks_px"].values():
        out[:, lm["index"], 0] = lm["x"]
        out[:, lm["index"], 1] = lm["y"]
    return out
