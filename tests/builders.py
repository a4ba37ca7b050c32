"""Builders for synthetic landmark sequences: a person seen from the front, with exact geometry.

A simple 3D leg model (thigh 0.45 m, shank 0.43 m, hips 0.2 m apart) is posed from knee flexion
and a medial knee shift, then projected orthographically (person's left on the image right,
as when they face the camera). Tests drive metrics, trackers, cues and the pipeline with it,
without the pose model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.core.landmarks import NUM_LANDMARKS, PoseLandmark as P
from formcheck.core.pose_frame import PoseFrame

THIGH = 0.45
SHANK = 0.43
HIP_HALF = 0.10
PX_PER_M = 300.0
CENTRE = (320.0, 120.0)  # image position of the mid-hip when standing
IMAGE_SIZE = (640, 720)


@dataclass(frozen=True)
class LegPose:
    flexion_deg: float = 0.0
    medial_shift_m: float = 0.0  # knee moved toward the midline (valgus when > 0)


def body_world(left: LegPose, right: LegPose, yaw_deg: float = 0.0) -> np.ndarray:
    """(33, 3) world landmarks, metres, x to the person's left, y down, z toward the camera."""
    w = np.zeros((NUM_LANDMARKS, 3))
    ankle_y = THIGH + SHANK  # ankles on the floor; hips drop as the knees bend
    legs = {}
    for sign, leg in ((1.0, left), (-1.0, right)):
        theta = math.radians(leg.flexion_deg)
        a, b = 0.45 * theta, 0.55 * theta  # shank forward, thigh back: knee angle = a + b
        ankle = np.array([sign * (HIP_HALF + 0.02), ankle_y, 0.0])
        knee = ankle + SHANK * np.array([0.0, -math.cos(a), math.sin(a)])
        knee[0] -= sign * leg.medial_shift_m
        hip = knee + THIGH * np.array([0.0, -math.cos(b), -math.sin(b)])
        hip[0] = sign * HIP_HALF
        legs[sign] = (hip, knee, ankle)
    # Both hips at the mean depth so the pelvis stays level.
    hip_y = (legs[1.0][0][1] + legs[-1.0][0][1]) / 2
    hip_z = (legs[1.0][0][2] + legs[-1.0][0][2]) / 2
    for sign, (hip, knee, ankle) in legs.items():
        hip = np.array([hip[0], hip_y, hip_z])
        side = "LEFT" if sign > 0 else "RIGHT"
        w[P[f"{side}_HIP"]] = hip
        w[P[f"{side}_KNEE"]] = knee
        w[P[f"{side}_ANKLE"]] = ankle
        w[P[f"{side}_HEEL"]] = ankle + [0.0, 0.05, -0.05]
        w[P[f"{side}_FOOT_INDEX"]] = ankle + [sign * 0.03, 0.06, 0.18]
        w[P[f"{side}_SHOULDER"]] = [sign * 0.18, hip_y - 0.5, hip_z]
        w[P[f"{side}_ELBOW"]] = [sign * 0.25, hip_y - 0.25, hip_z]
        w[P[f"{side}_WRIST"]] = [sign * 0.25, hip_y - 0.02, hip_z]
    w[P.NOSE] = [0.0, hip_y - 0.7, hip_z + 0.05]
    if yaw_deg:
        c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
        rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        w = w @ rot.T
    return w


def project(world: np.ndarray) -> np.ndarray:
    """Orthographic front view: the person's left (world +x) on the image right."""
    stand_hip_y = 0.0
    xy = np.empty((len(world), 2))
    xy[:, 0] = CENTRE[0] + world[:, 0] * PX_PER_M
    xy[:, 1] = CENTRE[1] + (world[:, 1] - stand_hip_y) * PX_PER_M
    return xy


def pose_frame(t_s: float, left: LegPose, right: LegPose, yaw_deg: float = 0.0, noise_px: float = 0.0, rng: np.random.Generator | None = None) -> PoseFrame:
    world = body_world(left, right, yaw_deg)
    xy = project(world)
    if noise_px:
        xy = xy + (rng or np.random.default_rng(0)).normal(0.0, noise_px, xy.shape)
    world = world - (world[P.LEFT_HIP] + world[P.RIGHT_HIP]) / 2  # MediaPipe's world is hip-centred
    return PoseFrame(t_s=t_s, image_xy=xy, world_xyz=world, visibility=np.ones(NUM_LANDMARKS), image_size=IMAGE_SIZE)


def squat_flexion(t: np.ndarray, reps: int, depth_deg: float = 100.0, period_s: float = 2.0, lead_s: float = 1.5, rest_s: float = 1.0) -> np.ndarray:
    """Knee flexion over time: standing (15 degrees), then `reps` smooth cosine dips."""
    flex = np.full_like(t, 15.0)
    for k in range(reps):
        start = lead_s + k * (period_s + rest_s)
        inside = (t >= start) & (t < start + period_s)
        phase = (t[inside] - start) / period_s
        flex[inside] = 15.0 + (depth_deg - 15.0) * 0.5 * (1 - np.cos(2 * math.pi * phase))
    return flex


def rep_windows(reps: int, period_s: float = 2.0, lead_s: float = 1.5, rest_s: float = 1.0) -> list[tuple[float, float, float]]:
    """(start, bottom, end) seconds of each dip made by `squat_flexion`."""
    return [(lead_s + k * (period_s + rest_s), lead_s + k * (period_s + rest_s) + period_s / 2, lead_s + k * (period_s + rest_s) + period_s) for k in range(reps)]
