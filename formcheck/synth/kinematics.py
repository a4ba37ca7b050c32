"""Leg and arm kinematics for the scripted motions, vectorised over frames.

Everything is placed from the ends inward: the script says where the pelvis and each foot are,
and two-bone inverse kinematics finds the knee (or elbow) on the circle of positions the bone
lengths allow, turned toward a pole direction. A medial knee shift is then a rotation of the knee
about the hip-ankle axis toward the midline, so hip and foot stay put and the knee flexion angle
is unchanged: exactly the dynamic-valgus picture of DOMAIN.md.
"""

from __future__ import annotations

import numpy as np

from formcheck.synth.body import UP

Array = np.ndarray


def unit(v: Array) -> Array:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def smoothstep(s: Array) -> Array:
    """Eased 0..1 ramp with zero velocity at both ends (minimum-jerk profile)."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (10 - 15 * s + 6 * s * s)


def hip_to_ankle_distance(flexion_deg: Array, thigh: float, shank: float) -> Array:
    """Hip-ankle distance for a knee flexion angle (law of cosines)."""
    c = np.cos(np.radians(flexion_deg))
    return np.sqrt(thigh**2 + shank**2 + 2 * thigh * shank * c)


def sagittal_hip_offset(flexion_deg: Array, thigh: float, shank: float, shank_share: float) -> tuple[Array, Array]:
    """(forward, up) of the hip from the ankle when the knee flexes with planted foot.

    The shank tilts forward by `shank_share` of the flexion (the knee travels forward over the
    foot, limited by ankle dorsiflexion) and the thigh takes the rest leaning back (hips back and
    down), so a squat looks like a squat rather than a knee bend in place.
    """
    a = np.radians(flexion_deg * shank_share)
    b = np.radians(flexion_deg * (1 - shank_share))
    return shank * np.sin(a) - thigh * np.sin(b), shank * np.cos(a) + thigh * np.cos(b)


def two_bone(root: Array, end: Array, l1: float, l2: float, pole: Array) -> tuple[Array, Array]:
    """Middle joint of a two-bone chain and the reached end point, (T, 3) each.

    `pole` is the direction the middle joint bulges toward. An end beyond reach is pulled in
    along the root-end line to just short of full length (only free limbs ever are).
    """
    d_vec = end - root
    d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    reach = (l1 + l2) * 0.99995
    short = max(abs(l1 - l2), 1e-6) * 1.001
    d_c = np.clip(d, short, reach)
    u = d_vec / np.where(d > 0, d, 1.0)
    end_c = root + u * d_c
    a = (l1**2 - l2**2 + d_c**2) / (2 * d_c)
    r = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    p = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    p = unit(p)
    return root + a * u + r * p, end_c


def rotate_about_axis(v: Array, axis: Array, angle_rad: Array) -> Array:
    """Rodrigues rotation of vectors v about unit axes by angles, all per frame."""
    k = unit(axis)
    c = np.cos(angle_rad)[..., None]
    s = np.sin(angle_rad)[..., None]
    return v * c + np.cross(k, v) * s + k * np.sum(k * v, axis=-1, keepdims=True) * (1 - c)


def medial_rotation_angle(hip: Array, knee: Array, ankle: Array, medial: Array, shift_m: Array) -> Array:
    """Signed rotation about the hip->ankle axis that moves the knee `shift_m` toward `medial`.

    Returns radians such that rotate_about_axis(knee - foot_of_perpendicular, axis, angle)
    carries the knee toward the midline; the horizontal shift is exact to first order and the
    truth records the actual 3D shift afterwards.
    """
    axis = unit(ankle - hip)
    foot = hip + np.sum((knee - hip) * axis, axis=-1, keepdims=True) * axis
    radial = knee - foot
    r = np.linalg.norm(radial, axis=-1)
    tangent = np.cross(axis, radial)
    # Which rotation sense moves the knee medially.
    sense = np.sign(np.sum(tangent * medial, axis=-1))
    sense = np.where(sense == 0, 1.0, sense)
    ratio = np.clip(np.abs(shift_m) / np.maximum(r, 1e-6), 0.0, 0.95)
    return sense * np.sign(shift_m) * np.arcsin(ratio)


def apply_medial_shift(hip: Array, knee: Array, ankle: Array, medial: Array, shift_m: Array) -> Array:
    """Knee positions after the medial shift (hip and ankle untouched)."""
    axis = unit(ankle - hip)
    foot = hip + np.sum((knee - hip) * axis, axis=-1, keepdims=True) * axis
    angle = medial_rotation_angle(hip, knee, ankle, medial, shift_m)
    return foot + rotate_about_axis(knee - foot, axis, angle)


def foot_points(ankle: Array, toe_out_rad: Array, pitch_rad: Array, side_sign: float, foot_len: float,
                ankle_h: float) -> tuple[Array, Array]:
    """(heel, toe) from the ankle, the foot's outward turn and its toe-down pitch.

    The ankle sits `ankle_h` above the sole; the heel point is the back of the heel near the
    floor, the toe point the tip of the shoe (BlazePose's foot index).
    """
    yaw = toe_out_rad * side_sign  # left foot turns toward +x
    fwd = np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], axis=-1)
    cp, sp = np.cos(pitch_rad)[..., None], np.sin(pitch_rad)[..., None]
    f = fwd * cp - UP * sp  # toe-down pitch tips the forward axis downward
    u = UP * cp + fwd * sp
    heel = ankle - 0.26 * foot_len * f - 0.80 * ankle_h * u
    toe = ankle + 0.74 * foot_len * f - 0.75 * ankle_h * u
    return heel, toe
