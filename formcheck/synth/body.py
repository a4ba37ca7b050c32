"""The synthetic person's skeleton: joint names, body proportions and BlazePose landmark placement.

World frame, metres: x toward the person's own left, y up, z forward (the way the person faces);
the floor is y = 0 and the person starts standing over the origin. A right-handed frame, so the
person's right is -x.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass

import numpy as np

from formcheck.core.landmarks import NUM_LANDMARKS, PoseLandmark, Side

UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])
LEFT = np.array([1.0, 0.0, 0.0])


class J(enum.IntEnum):
    """Skeleton joints posed by the motion scripts (not BlazePose indices)."""

    PELVIS = 0
    HIP_L = 1
    HIP_R = 2
    KNEE_L = 3
    KNEE_R = 4
    ANKLE_L = 5
    ANKLE_R = 6
    HEEL_L = 7
    HEEL_R = 8
    TOE_L = 9
    TOE_R = 10
    SHOULDER_L = 11
    SHOULDER_R = 12
    ELBOW_L = 13
    ELBOW_R = 14
    WRIST_L = 15
    WRIST_R = 16
    NECK = 17
    HEAD = 18
    FACE = 19  # a point ahead of the head the way the face looks (head turns; see head_frame)


NUM_JOINTS = len(J)


def side_joint(name: str, side: Side) -> J:
    """J.<NAME>_L or J.<NAME>_R for a side."""
    return J[f"{name}_{'L' if side is Side.LEFT else 'R'}"]


def lateral_sign(side: Side) -> float:
    """+1 for the person's left (toward +x), -1 for the right."""
    return 1.0 if side is Side.LEFT else -1.0


@dataclass(frozen=True)
class BodyShape:
    """Proportions from standing height (Winter's anthropometric ratios), with a few knobs.

    `leg_ratio` stretches the legs against the trunk, `girth` thickens every limb, `shoulder_ratio`
    widens the shoulders: enough variety that a detector cannot key on one silhouette.
    """

    height_m: float = 1.72
    leg_ratio: float = 1.0
    shoulder_ratio: float = 1.0
    girth: float = 1.0

    @property
    def thigh(self) -> float:
        return 0.245 * self.height_m * self.leg_ratio

    @property
    def shank(self) -> float:
        return 0.240 * self.height_m * self.leg_ratio

    @property
    def ankle_height(self) -> float:
        return 0.045 * self.height_m

    @property
    def hip_width(self) -> float:
        """Distance between the hip joint centres."""
        return 0.105 * self.height_m

    @property
    def shoulder_width(self) -> float:
        """Distance between the shoulder joint centres."""
        return 0.205 * self.height_m * self.shoulder_ratio

    @property
    def trunk(self) -> float:
        """Hip-joint line to shoulder-joint line."""
        return 0.80 * self.height_m - (self.thigh + self.shank + self.ankle_height)

    @property
    def upper_arm(self) -> float:
        return 0.186 * self.height_m

    @property
    def forearm(self) -> float:
        return 0.150 * self.height_m

    @property
    def foot(self) -> float:
        return 0.152 * self.height_m

    @property
    def leg(self) -> float:
        return self.thigh + self.shank

    def to_dict(self) -> dict:
        return asdict(self)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def body_frame(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left, up, forward) unit vectors of the trunk per frame, from hips and shoulders."""
    left = _unit(joints[..., J.HIP_L, :] - joints[..., J.HIP_R, :])
    up = _unit((joints[..., J.SHOULDER_L, :] + joints[..., J.SHOULDER_R, :]) / 2 - joints[..., J.PELVIS, :])
    fwd = _unit(np.cross(left, up))
    up = _unit(np.cross(fwd, left))
    return left, up, fwd


def head_frame(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left, up, forward) of the head: the trunk's, turned about its up by the head's turn toward
    the FACE joint. A face looking the trunk's way (every motion without head turns) keeps the
    trunk's frame exactly."""
    left, up, fwd = body_frame(joints)
    d = joints[..., J.FACE, :] - joints[..., J.HEAD, :]
    psi = np.arctan2(np.sum(d * left, axis=-1), np.sum(d * fwd, axis=-1))[..., None]
    turned = np.abs(psi) > 1e-6
    c, s = np.cos(psi), np.sin(psi)
    return np.where(turned, c * left - s * fwd, left), up, np.where(turned, c * fwd + s * left, fwd)


def blazepose_points(joints: np.ndarray) -> np.ndarray:
    """The 33 BlazePose landmarks, (..., 33, 3), placed on the drawn figure.

    Leg, arm and trunk landmarks are skeleton joints; face and hand points are offsets from the
    head and the wrist that match where the renderer draws eyes, mouth, ears and fingers.
    """
    P = PoseLandmark
    out = np.zeros(joints.shape[:-2] + (NUM_LANDMARKS, 3))
    left, up, fwd = head_frame(joints)  # the face turns with the head, the hands with the trunk
    body_fwd = body_frame(joints)[2]
    head = joints[..., J.HEAD, :]
    hs = np.linalg.norm(joints[..., J.SHOULDER_L, :] - joints[..., J.SHOULDER_R, :], axis=-1)[..., None] / 0.35

    def face(lat: float, u: float, f: float) -> np.ndarray:
        return head + hs * (lat * left + u * up + f * fwd)

    for side, s in ((Side.LEFT, 1.0), (Side.RIGHT, -1.0)):
        pre = "LEFT_" if side is Side.LEFT else "RIGHT_"
        out[..., P[pre + "EYE_INNER"], :] = face(s * 0.016, 0.012, 0.085)
        out[..., P[pre + "EYE"], :] = face(s * 0.032, 0.012, 0.082)
        out[..., P[pre + "EYE_OUTER"], :] = face(s * 0.048, 0.012, 0.075)
        out[..., P[pre + "EAR"], :] = face(s * 0.075, 0.0, 0.0)
        out[..., P["MOUTH_" + pre[:-1]], :] = face(s * 0.024, -0.058, 0.080)
        for name in ("HIP", "KNEE", "ANKLE", "HEEL", "SHOULDER", "ELBOW", "WRIST"):
            out[..., P[pre + name], :] = joints[..., side_joint(name, side), :]
        out[..., P[pre + "FOOT_INDEX"], :] = joints[..., side_joint("TOE", side), :]
        wrist = joints[..., side_joint("WRIST", side), :]
        along = _unit(wrist - joints[..., side_joint("ELBOW", side), :])
        across = _unit(np.cross(along, body_fwd)) * s
        out[..., P[pre + "INDEX"], :] = wrist + 0.075 * along - 0.015 * across
        out[..., P[pre + "PINKY"], :] = wrist + 0.065 * along + 0.025 * across
        out[..., P[pre + "THUMB"], :] = wrist + 0.035 * along - 0.035 * across + 0.01 * body_fwd
    out[..., P.NOSE, :] = face(0.0, -0.022, 0.102)
    return out
