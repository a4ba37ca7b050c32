"""What the exports read from an output folder of `analyze` or `live`: markers and angles.

The markers are the report pass's landmarks (legs labelled for the whole clip, unseen joints
dropped, short gaps bridged, zero-phase Butterworth: `report_frames.smooth_landmarks`), so the
angles exported beside them are the numbers summary.json and frames.csv were computed from. The
whole clip is held in memory (about 2 kB a frame: 15 MB for ten minutes at 30 fps).

Coordinates: the pose model's world landmarks, in metres, when landmarks.npy holds them (origin
between the hips, so the pelvis does not travel); else the image landmarks in pixels. Either way
the axes are X to the image's right, Y up, Z toward the camera (right-handed; MediaPipe's own
y points down and z away from the camera).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.core import geometry as g
from formcheck.core.landmarks import LEG, NUM_LANDMARKS, SIDES, PoseLandmark
from formcheck.core.metrics import compute_metrics
from formcheck.core.smoothing import VISIBILITY_GATE, sample_rate, swap_legs_where, whole_clip_leg_swaps
from formcheck.errors import InputError
from formcheck.pipeline.report_frames import smooth_landmarks
from formcheck.runs.run_folder import settle

# Marker names as the OpenSim marker sets of Pose2Sim and Sports2D spell the BlazePose landmarks
# (the foot index is the big-toe marker there).
MARKER_NAMES: dict[PoseLandmark, str] = {
    PoseLandmark.NOSE: "Nose",
    PoseLandmark.LEFT_EYE_INNER: "LEyeInner",
    PoseLandmark.LEFT_EYE: "LEye",
    PoseLandmark.LEFT_EYE_OUTER: "LEyeOuter",
    PoseLandmark.RIGHT_EYE_INNER: "REyeInner",
    PoseLandmark.RIGHT_EYE: "REye",
    PoseLandmark.RIGHT_EYE_OUTER: "REyeOuter",
    PoseLandmark.LEFT_EAR: "LEar",
    PoseLandmark.RIGHT_EAR: "REar",
    PoseLandmark.MOUTH_LEFT: "LMouth",
    PoseLandmark.MOUTH_RIGHT: "RMouth",
    PoseLandmark.LEFT_SHOULDER: "LShoulder",
    PoseLandmark.RIGHT_SHOULDER: "RShoulder",
    PoseLandmark.LEFT_ELBOW: "LElbow",
    PoseLandmark.RIGHT_ELBOW: "RElbow",
    PoseLandmark.LEFT_WRIST: "LWrist",
    PoseLandmark.RIGHT_WRIST: "RWrist",
    PoseLandmark.LEFT_PINKY: "LPinky",
    PoseLandmark.RIGHT_PINKY: "RPinky",
    PoseLandmark.LEFT_INDEX: "LIndex",
    PoseLandmark.RIGHT_INDEX: "RIndex",
    PoseLandmark.LEFT_THUMB: "LThumb",
    PoseLandmark.RIGHT_THUMB: "RThumb",
    PoseLandmark.LEFT_HIP: "LHip",
    PoseLandmark.RIGHT_HIP: "RHip",
    PoseLandmark.LEFT_KNEE: "LKnee",
    PoseLandmark.RIGHT_KNEE: "RKnee",
    PoseLandmark.LEFT_ANKLE: "LAnkle",
    PoseLandmark.RIGHT_ANKLE: "RAnkle",
    PoseLandmark.LEFT_HEEL: "LHeel",
    PoseLandmark.RIGHT_HEEL: "RHeel",
    PoseLandmark.LEFT_FOOT_INDEX: "LBigToe",
    PoseLandmark.RIGHT_FOOT_INDEX: "RBigToe",
}
assert len(MARKER_NAMES) == NUM_LANDMARKS

# Angle columns, degrees (OpenSim's _l/_r suffixes; formcheck's own signs, not an OpenSim model's
# coordinates): flexion 0 with the leg straight; FPPA and frontal shank positive = knee medial.
ANGLE_DOC = {
    "knee_flexion": "180 minus the hip-knee-ankle angle (world landmarks)",
    "hip_flexion": "180 minus the shoulder-hip-knee angle (world landmarks)",
    "ankle_dorsiflexion": "90 minus the angle between shank (ankle to knee) and foot (heel to toe), world landmarks",
    "fppa": "frontal-plane projection angle, positive = valgus (frontal view only)",
    "frontal_shank": "knee-to-ankle line against vertical, positive = knee medial (frontal view only)",
}


@dataclass
class ExportData:
    """One output folder, ready to write in any format."""

    folder: Path
    summary: dict[str, Any]
    t_s: np.ndarray  # (N,) seconds from the start of the video
    frame_index: np.ndarray  # (N,) the source's frame numbers
    rate_hz: float
    markers: np.ndarray  # (N, 33, 3): X right, Y up, Z toward the camera; NaN where not seen
    units: str  # "m" (world landmarks) or "px" (image landmarks, Z = 0)
    angles: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,) degrees

    @property
    def marker_names(self) -> list[str]:
        return [MARKER_NAMES[p] for p in PoseLandmark]


def _world_usable(records: np.ndarray) -> bool:
    if "world_xyz" not in (records.dtype.names or ()):
        return False
    w = records["world_xyz"][records["people"] > 0]
    return bool(len(w)) and bool(np.isfinite(w).any()) and bool(np.abs(np.nan_to_num(w)).max() > 0)


def _angles(t: np.ndarray, xy: np.ndarray, world: np.ndarray, yaw_limit: float) -> dict[str, np.ndarray]:
    m = compute_metrics(t, xy, world, yaw_limit)
    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = side.value[0]
        leg, lm = LEG[side], m.leg(side)
        hip, knee, ankle = world[:, int(leg.hip)], world[:, int(leg.knee)], world[:, int(leg.ankle)]
        heel, toe, shoulder = world[:, int(leg.heel)], world[:, int(leg.toe)], world[:, int(leg.shoulder)]
        foot_angle = g.joint_angle_deg(knee, ankle, ankle + (toe - heel))
        out[f"hip_flexion_{s}"] = 180.0 - g.joint_angle_deg(shoulder, hip, knee)
        out[f"knee_flexion_{s}"] = lm.flexion_deg
        out[f"ankle_dorsiflexion_{s}"] = 90.0 - foot_angle
        out[f"fppa_{s}"] = lm.fppa_deg
        out[f"frontal_shank_{s}"] = lm.shank_deg
    return out


def load_folder(folder: Path) -> ExportData:
    """Read an output folder (summary.json and landmarks.npy); InputError if it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder: give an output folder of `formcheck analyze` or `live`")
    settle(folder)
    summary_path, npy = folder / "summary.json", folder / "landmarks.npy"
    if not summary_path.is_file() or not npy.is_file():
        raise InputError(f"{folder} is not an output folder of `formcheck analyze` or `live` (no summary.json and landmarks.npy)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        records = np.load(npy, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {folder}: {exc}") from None
    names = set(records.dtype.names or ())
    if not isinstance(summary, dict) or not {"t_s", "frame_index", "image_xy", "visibility", "people"} <= names:
        raise InputError(f"{npy} is not a formcheck landmarks file")
    if len(records) == 0:
        raise InputError(f"{npy} holds no frames")
    records = np.array(records)  # the whole clip, once
    t = records["t_s"].astype(np.float64)
    rate = sample_rate(t) if len(t) > 1 else float((summary.get("source") or {}).get("fps") or 30.0)
    seen = records["people"] > 0
    xy = records["image_xy"].astype(np.float64)
    vis = records["visibility"].astype(np.float64)
    xy[~seen] = np.nan
    has_world = _world_usable(records)
    world = records["world_xyz"].astype(np.float64) if has_world else np.full((len(t), NUM_LANDMARKS, 3), np.nan)
    world[~seen] = np.nan
    swap = whole_clip_leg_swaps(t, xy, world, vis)
    unseen = swap_legs_where(vis.copy(), swap) < VISIBILITY_GATE
    xy_s = smooth_landmarks(t, xy, unseen, swap, rate)
    world_s = smooth_landmarks(t, world, unseen, swap, rate)
    yaw_limit = float((summary.get("thresholds") or {}).get("frontal_max_yaw_deg") or 20.0)
    angles = _angles(t, xy_s, world_s, yaw_limit)
    if has_world:
        markers = world_s * np.array([1.0, -1.0, -1.0])
        units = "m"
    else:
        height = float((summary.get("source") or {}).get("height") or 0.0)
        markers = np.concatenate([xy_s[..., :1], height - xy_s[..., 1:2], np.zeros_like(xy_s[..., :1])], axis=-1)
        markers[~np.isfinite(xy_s).all(axis=-1)] = np.nan
        units = "px"
    return ExportData(
        folder=folder, summary=summary, t_s=t, frame_index=records["frame_index"].astype(np.int64),
        rate_hz=rate if math.isfinite(rate) and rate > 0 else 30.0, markers=markers, units=units, angles=angles,
    )  # fmt: skip
