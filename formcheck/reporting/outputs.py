"""summary.json and frames.csv, as CONTRACT.md lays them out.

schema_version 2 adds to schema 1, dropping nothing: each rep's `verdict`, per leg the measure that
decided it, its value and limit and the outcome (`verdict.Verdict`); `valgus` and `valgus_basis`
are the same verdicts in schema 1's words.
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
from pathlib import Path
from typing import Any

from formcheck import __version__
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import VIEW_CODES
from formcheck.judging.scoring import HoldScore, RepScore
from formcheck.pipeline.session import PHASES, SessionResult
from formcheck.trackers.base import KneeRom, Progression

SCHEMA_VERSION = 2

FRAME_COLUMNS = [
    "frame", "t_s", "pose",
    "fppa_left_deg", "fppa_right_deg", "shank_left_deg", "shank_right_deg",
    "knee_toe_left", "knee_toe_right", "knee_flexion_left_deg", "knee_flexion_right_deg",
    "view", "rep", "phase", "cue",
    # beyond the contract's minimum:
    "fppa_usable_left", "fppa_usable_right", "separation_ratio", "pelvic_tilt_deg",
    "trunk_lean_deg", "body_yaw_deg", "feet_apart_hip_widths",
]  # fmt: skip


def _r(x: float | None, nd: int = 2) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


def _legs(d: dict[Side, Any], nd: int = 2) -> dict[str, Any]:
    return {s.value: (_r(v, nd) if isinstance(v, float) or v is None else v) for s, v in d.items()}


def rep_json(score: RepScore) -> dict[str, Any]:
    r = score.rep
    return {
        "index": r.index,
        "start_s": _r(r.start_s, 3),
        "bottom_s": _r(r.bottom_s, 3),
        "end_s": _r(r.end_s, 3),
        "legs": [s.value for s in r.legs],
        "fppa_deg": _legs(score.fppa_deg, 1),
        "peak_fppa_deg": _legs(score.peak_fppa_deg, 1),
        "peak_shank_deg": _legs(score.peak_shank_deg, 1),
        "peak_knee_toe_offset": _legs(score.peak_knee_toe_offset, 3),
        "peak_knee_toe_change": _legs(score.peak_knee_toe_change, 3),
        "valgus": {s.value: v for s, v in score.valgus.items()},
        "valgus_basis": score.basis.value if score.basis else None,
        "verdict": {s.value: v.as_json() for s, v in score.verdict.items()},
        "depth_deg": _r(score.depth_deg, 1),
        "min_separation_ratio": _r(score.min_separation_ratio, 3),
        "start_frame": r.start_i,
        "bottom_frame": r.bottom_i,
        "end_frame": r.end_i,
        **({"hold_s": _r(r.hold_s, 2)} if r.hold_s is not None else {}),
        **({"range_deg": _r(r.range_deg, 1)} if r.range_deg is not None else {}),
        **({"knee_rom": {k.leg.value: knee_rom_json(k) for k in r.knee_rom}} if r.knee_rom else {}),
        **({"landing": landing_json(score)} if r.landing is not None else {}),
        **({"step": step_json(score)} if r.step is not None else {}),
        **({"slide": slide_json(score)} if r.slide is not None else {}),
        **({"plant": plant_json(score)} if r.plant is not None else {}),
    }


def plant_json(score: RepScore) -> dict[str, Any]:
    """A pivot: the planted leg, the plant (the rep's start) with FPPA there and its peak over the
    plant window, when the shoulders began to turn, and the trunk turn from the plant to the end of
    the pivot (degrees, world landmarks)."""
    r = score.rep
    assert r.plant is not None
    pl = r.plant
    return {
        "leg": pl.leg.value,
        "plant_frame": r.start_i,
        "plant_s": _r(r.start_s, 3),
        "window_end_frame": r.start_i + pl.window_frames,
        "fppa_at_plant_deg": _r(score.fppa_deg.get(pl.leg), 1),
        "peak_fppa_plant_deg": _r(score.peak_fppa_deg.get(pl.leg), 1),
        "turn_start_frame": pl.turn_start_i,
        "turn_end_frame": r.end_i,
        "trunk_turn_deg": _r(pl.turn_deg, 1),
    }


def plants_json(scores: list[RepScore]) -> dict[str, Any]:
    """Pivots over the session, per planted leg: how many, how many caved at the plant, and the
    median trunk turn (degrees)."""
    out: dict[str, Any] = {}
    for sd in SIDES:
        mine = [s for s in scores if s.rep.plant is not None and s.rep.plant.leg is sd]
        out[sd.value] = {
            "plants": len(mine),
            "caving": sum(1 for s in mine if s.valgus.get(sd)),
            "median_turn_deg": _r(statistics.median(s.rep.plant.turn_deg for s in mine), 1) if mine else None,  # type: ignore[union-attr]
        }
    return out


def slide_json(score: RepScore) -> dict[str, Any]:
    """A hip adduction slide: the bent leg (the rep's, judged as usual) and the sliding straight
    one, the range the foot slid in and the ankles' distance at the start and at their closest,
    in straight-leg lengths (`leg_px`, the unit, in pixels)."""
    r = score.rep
    assert r.slide is not None
    sl = r.slide
    return {
        "bent_leg": sl.bent.value,
        "straight_leg": sl.straight.value,
        "start_frame": r.start_i,
        "closest_frame": r.bottom_i,
        "range": _r(sl.range, 3),
        "start_separation": _r(sl.start_separation, 3),
        "min_separation": _r(sl.min_separation, 3),
        "leg_px": _r(sl.leg_px, 1),
    }


def slides_json(scores: list[RepScore]) -> dict[str, Any]:
    """Adduction slides over the session, per bent leg: how many, and the median and smallest range
    (straight-leg lengths)."""
    out: dict[str, Any] = {}
    for sd in SIDES:
        ranges = sorted(s.rep.slide.range for s in scores if s.rep.slide is not None and s.rep.slide.bent is sd)
        out[sd.value] = {
            "slides": len(ranges),
            "median_range": _r(statistics.median(ranges), 3) if ranges else None,
            "smallest_range": _r(ranges[0], 3) if ranges else None,
        }
    return out


def step_json(score: RepScore) -> dict[str, Any]:
    """A sideways step (band-walk, side-push): its direction and pushing (trailing) leg, push-off
    (the rep's start) with per working leg FPPA there and its peak over the push-off window, the
    narrowest ankle distance in standing hip widths (band-walk) and the least knee flexion held."""
    r = score.rep
    assert r.step is not None
    st = r.step
    return {
        "direction": st.direction.value,
        "pushing_leg": st.pushing.value,
        "push_off_frame": r.start_i,
        "push_off_s": _r(r.start_s, 3),
        "window_end_frame": r.start_i + st.window_frames,
        "fppa_at_push_off_deg": _legs(score.fppa_deg, 1),
        "peak_fppa_push_off_deg": _legs(score.peak_fppa_deg, 1),
        "min_ankle_separation": _r(st.min_separation, 3),
        "min_separation_frame": st.min_separation_i,
        "feet_too_close": score.feet_too_close,
        "flexion_held_deg": _r(st.flexion_held_deg, 1),
    }


def landing_json(score: RepScore) -> dict[str, Any]:
    """A hop landing: initial contact (the rep's start), ground contact time to the next take-off
    (None when the person stayed down), and per leg FPPA at contact and its peak in the window."""
    r = score.rep
    assert r.landing is not None
    return {
        "contact_frame": r.start_i,
        "contact_s": _r(r.start_s, 3),
        "contact_time_s": _r(r.landing.contact_time_s, 3),
        "window_end_frame": r.start_i + r.landing.window_frames,
        "fppa_at_contact_deg": _legs(score.fppa_deg, 1),
        "peak_fppa_window_deg": _legs(score.peak_fppa_deg, 1),
    }


def steps_json(scores: list[RepScore]) -> dict[str, Any]:
    """Sideways steps over the session: how many went each way (the person's own left and right)
    and, for band-walk, how many let the feet come too close."""
    steps = [s for s in scores if s.rep.step is not None]
    return {
        "per_direction": {sd.value: sum(1 for s in steps if s.rep.step.direction is sd) for sd in SIDES},  # type: ignore[union-attr]
        "feet_too_close": sum(1 for s in steps if s.feet_too_close),
    }


def knee_rom_json(k: KneeRom) -> dict[str, Any]:
    """One leg's knee range in a rep (knee-rom), degrees of flexion; `measure`: which estimate."""
    return {
        "max_flexion_deg": _r(k.max_flexion_deg, 1),
        "fullest_extension_deg": _r(k.fullest_extension_deg, 1),
        "uncertainty_deg": _r(k.uncertainty_deg, 1),
        "measure": k.measure,
    }


def hold_json(score: HoldScore) -> dict[str, Any]:
    """One balance hold; `sway`/`knee_sway` in body lengths (RMS, see scoring.HoldScore)."""
    h = score.hold
    return {
        "leg": h.leg.value,
        "start_s": _r(h.start_s, 3),
        "end_s": _r(h.end_s, 3),
        "duration_s": _r(h.end_s - h.start_s, 3),
        "touchdowns": len(h.touchdowns),
        "touchdown_s": [_r(t, 3) for t in h.touchdowns],
        "peak_fppa_deg": _r(score.peak_fppa_deg, 1),
        "valgus": score.valgus,
        "verdict": score.verdict.as_json(),
        "sway": _r(score.sway, 4),
        "knee_sway": _r(score.knee_sway, 4),
        "sway_unit": "body lengths, RMS about the hold's mean position (pelvis; knee for knee_sway)",
        "start_frame": h.start_i,
        "end_frame": h.end_i,
        **progression_json(h.progression),
    }


def progression_json(p: Progression | None) -> dict[str, Any]:
    """A hold's progression (trackers/balance.py): tiptoes by the heel's rise, head turns, reaches."""
    if p is None:
        keys = ("progression", "tiptoe_share", "heel_rise", "head_turns", "head_turn_max_deg", "reaches", "reach_max")
        return {**dict.fromkeys(keys), "reach_list": []}
    return {
        "progression": p.name,
        "tiptoe_share": _r(p.tiptoe_share, 3),
        "heel_rise": _r(p.heel_rise, 4),
        "heel_rise_unit": "body lengths above the flat foot measured standing before the hold (median over the hold)",
        "head_turns": p.head_turns,
        "head_turn_max_deg": _r(p.head_turn_max_deg, 1),
        "reaches": len(p.reaches),
        "reach_max": _r(max((r.distance for r in p.reaches), default=None), 3),
        "reach_unit": "leg lengths from the body's vertical axis (world landmarks)",
        "reach_list": [{"limb": r.limb, "start_s": _r(r.start_s, 3), "end_s": _r(r.end_s, 3), "distance": _r(r.distance, 3)}
                       for r in p.reaches],
    }


def _clip_duration(result: SessionResult) -> float:
    """Last frame's time plus one frame period: the span the frames cover."""
    t = result.frames.t_s
    if len(t) == 0:
        return 0.0
    period = 1.0 / result.frames.fs if len(t) > 1 else 1.0 / max(result.source.fps, 1e-9)
    return float(t[-1] + period)


def summary_dict(
    result: SessionResult, model: dict[str, Any], partial_reason: str | None = None, read_to_end: bool = True
) -> dict[str, Any]:
    """summary.json; `partial_reason` says why a partial run has less than the whole video.
    A run stopped before the end (`read_to_end` False) reports the frames the container
    announces; one that read to the end (a truncated file too) the frames that decoded."""
    src = result.source
    th = result.thresholds  # as the exercise applied them (`Tracker.thresholds`)
    cut_short = not read_to_end
    return {
        "schema_version": SCHEMA_VERSION,
        "formcheck_version": __version__,
        "exercise": result.exercise,
        "partial": result.partial,
        # Why it is partial; `stopped_early`: the run ended before the video did (a truncated
        # file is partial too, but was read to its end: analysing it again gives the same).
        **({"partial_reason": partial_reason, "stopped_early": not read_to_end} if partial_reason else {}),
        "frames_analysed": result.frame_count,
        "source": {
            "path": src.name,
            "fps": _r(src.fps, 3),
            # Frames in the video: all that decoded when the run reached the end, else what the
            # container announces (a partial run has not seen them all).
            "frame_count": int(src.frame_count if cut_short and src.frame_count else result.frame_count),
            "width": src.width,
            "height": src.height,
            "duration_s": _r(src.duration_s if cut_short and src.duration_s else _clip_duration(result), 3),
            **({"sha256": src.sha256} if src.sha256 else {}),
        },
        "model": model,
        "view": result.view.value,
        "pose_coverage": _r(result.pose_coverage, 4),
        "baseline_fppa_deg": _legs(result.baseline.fppa_deg, 1),
        "thresholds": {
            "valgus_fppa_deg": th.valgus_fppa_deg,
            "valgus_landing_fppa_deg": th.valgus_landing_fppa_deg,
            "band_min_ankle_separation": th.band_min_ankle_separation,
            "valgus_shank_deg": th.valgus_shank_deg,
            "valgus_knee_toe": th.valgus_knee_toe,
            "shank_gate": th.shank_gate,
            "knee_toe_gate": th.knee_toe_gate,
            "knee_toe_from_standing": th.knee_toe_from_standing,
            "valgus_knee_toe_change": th.valgus_knee_toe_change,
            "baseline_relative": th.baseline_relative,
            "frontal_max_yaw_deg": th.frontal_max_yaw_deg,
            "fppa_max_flexion_deg": th.fppa_max_flexion_deg,
            "peak_hold_s": th.peak_hold_s,
        },
        "rep_count": len(result.reps),
        **({"steps": steps_json(result.reps)} if any(s.rep.step is not None for s in result.reps) else {}),
        **({"slides": slides_json(result.reps)} if any(s.rep.slide is not None for s in result.reps) else {}),
        **({"plants": plants_json(result.reps)} if any(s.rep.plant is not None for s in result.reps) else {}),
        "reps": [rep_json(s) for s in result.reps],
        "holds": [hold_json(h) for h in result.holds],
        **({"exercise_detected": {"name": result.detection.name, "confidence": result.detection.confidence,
                                  "reasons": result.detection.reasons}} if result.detection is not None else {}),
        "cues": result.cue_count,
        "warnings": result.warnings,
    }


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    _atomic_write_text(path, json.dumps(summary, indent=2) + "\n")


def _cell(x: float, nd: int) -> str:
    return "" if not math.isfinite(x) else f"{x:.{nd}f}"


def write_frames_csv(path: Path, result: SessionResult) -> None:
    """frames.csv, written chunk by chunk as the report pass hands over each chunk's rows."""
    tmp = path.with_name(f".{path.name}.tmp")
    texts = result.frames.cue_texts
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(FRAME_COLUMNS)
        for rows in result.rows():
            m = rows.metrics
            L, R = m.left, m.right
            for i in range(rows.hi - rows.lo):
                rep = int(rows.rep[i])
                w.writerow([
                    int(rows.frame_index[i]), f"{m.t_s[i]:.4f}", int(bool(m.pose[i])),
                    _cell(L.fppa_deg[i], 2), _cell(R.fppa_deg[i], 2),
                    _cell(L.shank_deg[i], 2), _cell(R.shank_deg[i], 2),
                    _cell(L.knee_toe[i], 3), _cell(R.knee_toe[i], 3),
                    _cell(L.flexion_deg[i], 1), _cell(R.flexion_deg[i], 1),
                    VIEW_CODES[int(m.view[i])].value, rep if rep else "",
                    PHASES[rows.phase[i]].value, texts[rows.cue[i]],
                    int(rows.usable[SIDES[0]][i]), int(rows.usable[SIDES[1]][i]),
                    _cell(m.separation_ratio[i], 3), _cell(m.pelvic_tilt_deg[i], 1),
                    _cell(m.trunk_lean_deg[i], 1), _cell(m.yaw_deg[i], 1), _cell(float(rows.feet_apart[i]), 3),
                ])  # fmt: skip
    os.replace(tmp, path)
