"""Knee geometry, pure and vectorised: every function takes arrays with any leading shape.

Conventions, written once for the whole code base (see DOMAIN.md):

- Image points are pixels, x to the image right, y down. Angles measured on normalised
  coordinates would be wrong for any non-square frame, so callers convert first.
- Left/right are the person's own sides (BlazePose's odd/even landmarks), never the image's.
- The **medial direction** of a leg is the direction from its hip toward the other hip. Every
  signed knee measure is positive when the knee lies medially (valgus, "caving in"), so the sign
  is right whether the person faces the camera or turns their back, and in mirrored video.
- FPPA: the angle between the thigh line (hip to knee) and the shank line (knee to ankle) in the
  image, 0 when hip, knee and ankle are in line, positive when the knee lies medial of the
  hip-ankle line.
- Frontal shank angle: the knee-to-ankle line against image vertical, positive when the knee
  lies medial of the ankle.
- Knee-to-toe offset: the knee's sideways (image x) offset from the foot-index landmark, along
  the medial direction, divided by the shank length.
- Knee-to-toe change: the same sideways offset in pixels minus its value while standing, divided
  by the standing shank length. Positive when the knee has moved medially relative to its toes
  since standing. The standing offset carries the person's toe-out, stance and the model's own
  placement of the foot landmark, so the change is what the bending adds; and the standing
  shank length does not foreshorten as the shank tilts toward the camera in deep flexion.
- Knee flexion: 180 degrees minus the hip-knee-ankle angle of the world (3D) landmarks; 0 is a
  straight leg.

Missing values are NaN and propagate: no function here guesses.
"""

from __future__ import annotations

import numpy as np

from formcheck.core.landmarks import LEG, PoseLandmark, Side

FloatArray = np.ndarray


def _norm(v: FloatArray) -> FloatArray:
    return np.linalg.norm(v, axis=-1)


def _cross2(a: FloatArray, b: FloatArray) -> FloatArray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def medial_unit(hip: FloatArray, other_hip: FloatArray) -> FloatArray:
    """Unit vector from a hip toward the other hip (the leg's medial direction)."""
    d = other_hip - hip
    n = _norm(d)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, d / n, np.nan)


def fppa_deg(hip: FloatArray, knee: FloatArray, ankle: FloatArray, other_hip: FloatArray) -> FloatArray:
    """Signed frontal-plane projection angle in degrees (positive = valgus)."""
    thigh = knee - hip
    shank = ankle - knee
    # Unsigned angle between the two segment directions, robust near 0 and 180 degrees.
    unsigned = np.degrees(np.arctan2(np.abs(_cross2(thigh, shank)), np.sum(thigh * shank, axis=-1)))
    # Side of the hip-ankle line the knee lies on, compared with the medial direction.
    line = ankle - hip
    knee_side = _cross2(line, knee - hip)
    medial_side = _cross2(line, medial_unit(hip, other_hip))
    sign = np.sign(knee_side) * np.sign(medial_side)
    out = unsigned * np.where(sign == 0, 1.0, sign)
    return np.where(np.isnan(knee_side) | np.isnan(medial_side), np.nan, out)


def _medial_x_sign(hip: FloatArray, other_hip: FloatArray) -> FloatArray:
    """+1 where the other hip lies to the image right of this one, -1 to the left."""
    dx = other_hip[..., 0] - hip[..., 0]
    return np.where(np.isnan(dx), np.nan, np.where(dx >= 0, 1.0, -1.0))


def shank_angle_deg(hip: FloatArray, knee: FloatArray, ankle: FloatArray, other_hip: FloatArray) -> FloatArray:
    """Knee-to-ankle line against image vertical, degrees, positive when the knee is medial."""
    dx = (knee[..., 0] - ankle[..., 0]) * _medial_x_sign(hip, other_hip)
    dy = ankle[..., 1] - knee[..., 1]
    return np.degrees(np.arctan2(dx, dy))


def knee_toe_px(hip: FloatArray, knee: FloatArray, toe: FloatArray, other_hip: FloatArray) -> FloatArray:
    """Knee's sideways (image x) offset from the toe along the medial direction, pixels."""
    return (knee[..., 0] - toe[..., 0]) * _medial_x_sign(hip, other_hip)


def knee_toe_offset(
    hip: FloatArray, knee: FloatArray, ankle: FloatArray, toe: FloatArray, other_hip: FloatArray
) -> FloatArray:
    """Knee's sideways offset from the toe along the medial direction, in shank lengths."""
    shank = _norm(knee - ankle)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(shank > 0, knee_toe_px(hip, knee, toe, other_hip) / shank, np.nan)


def knee_toe_change(offset_px: FloatArray, standing_offset_px: FloatArray, standing_shank_px: FloatArray) -> FloatArray:
    """Knee-to-toe offset relative to standing, in standing shank lengths (positive = moved medially).

    A knee tracking over a planted foot moves forward along the foot as it bends, which with any
    toe-out carries it laterally: the change is then zero or negative. A knee caving in moves
    medially of where it stood over the foot.
    """
    offset_px, standing_offset_px, standing_shank_px = np.broadcast_arrays(
        np.asarray(offset_px, dtype=float), np.asarray(standing_offset_px, dtype=float), np.asarray(standing_shank_px, dtype=float)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(standing_shank_px > 0, (offset_px - standing_offset_px) / standing_shank_px, np.nan)


def joint_angle_deg(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Angle at b between b->a and b->c, degrees, for 2D or 3D points."""
    u = a - b
    v = c - b
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(u * v, axis=-1) / (_norm(u) * _norm(v))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def knee_flexion_deg(hip: FloatArray, knee: FloatArray, ankle: FloatArray) -> FloatArray:
    """180 minus the hip-knee-ankle angle; use world (3D) points, the 2D angle foreshortens."""
    return 180.0 - joint_angle_deg(hip, knee, ankle)


def separation_ratio(knee_l: FloatArray, knee_r: FloatArray, ankle_l: FloatArray, ankle_r: FloatArray) -> FloatArray:
    """Horizontal knee separation over horizontal ankle separation (<1: knees closing in)."""
    knees = np.abs(knee_l[..., 0] - knee_r[..., 0])
    ankles = np.abs(ankle_l[..., 0] - ankle_r[..., 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ankles > 0, knees / ankles, np.nan)


def pelvic_tilt_deg(hip_l: FloatArray, hip_r: FloatArray) -> FloatArray:
    """Hip line against image horizontal, degrees, positive when the person's left hip is lower.

    In single-leg stance on the right leg, a positive value is a contralateral pelvic drop.
    """
    d = hip_l - hip_r
    return np.degrees(np.arctan2(d[..., 1], np.abs(d[..., 0])))


def trunk_lean_deg(hip_l: FloatArray, hip_r: FloatArray, sh_l: FloatArray, sh_r: FloatArray) -> FloatArray:
    """Mid-hip to mid-shoulder line against image vertical, degrees, positive toward the person's left."""
    mid_hip = (hip_l + hip_r) / 2
    mid_sh = (sh_l + sh_r) / 2
    up = mid_sh - mid_hip
    toward_left = _medial_x_sign(hip_r, hip_l)  # +1 where the left hip is to the image right
    return np.degrees(np.arctan2(up[..., 0] * toward_left, -up[..., 1]))


def hip_line_rise_deg(world_xyz: FloatArray) -> FloatArray:
    """The hip line's angle above level, world landmarks, degrees: about 0 standing, sitting or
    lying on the back, about 90 lying on the side (one hip above the other)."""
    d = world_xyz[..., int(PoseLandmark.LEFT_HIP), :] - world_xyz[..., int(PoseLandmark.RIGHT_HIP), :]
    return np.degrees(np.arctan2(np.abs(d[..., 1]), np.hypot(d[..., 0], d[..., 2])))


def body_yaw_deg(world_xyz: FloatArray) -> FloatArray:
    """How far the body is turned from facing the camera, 0 (frontal) to 90 (side-on).

    From the hip and shoulder lines of the world landmarks: the angle between each line and the
    image plane, averaged. World depth is the model's weakest output, so the view classifier
    combines this with an image-plane width check.
    """
    out = []
    for a, b in ((PoseLandmark.LEFT_HIP, PoseLandmark.RIGHT_HIP), (PoseLandmark.LEFT_SHOULDER, PoseLandmark.RIGHT_SHOULDER)):
        d = world_xyz[..., int(a), :] - world_xyz[..., int(b), :]
        out.append(np.degrees(np.arctan2(np.abs(d[..., 2]), np.hypot(d[..., 0], d[..., 1]))))
    return (out[0] + out[1]) / 2


def shoulder_heading_deg(world_xyz: FloatArray) -> FloatArray:
    """The shoulder line's rotation about the vertical from the world landmarks, signed degrees:
    0 with the line parallel to the image plane and the person's left shoulder on the image right
    (facing the camera), +-180 facing away. A trunk turn is the change of it (`body_yaw_deg` is its
    unsigned, hip-and-shoulder cousin, for the view)."""
    d = world_xyz[..., int(PoseLandmark.LEFT_SHOULDER), :] - world_xyz[..., int(PoseLandmark.RIGHT_SHOULDER), :]
    return np.degrees(np.arctan2(d[..., 2], d[..., 0]))


# The nose's distance ahead of the ear line over half the ears' spacing (about 10 and 7.5 cm on an
# adult head): what turns the nose's sideways image offset into a head turn angle.
NOSE_AHEAD_OF_EARS = 1.36


def head_yaw_deg(image_xy: FloatArray) -> FloatArray:
    """The head's turn about the vertical from the image, signed degrees, + to the person's left.

    A head seen from the front has its nose midway between the ears; turned by psi, the nose moves
    sideways by its depth ahead of the ears times sin(psi) while the ears close in by cos(psi), so
    psi = atan2(nose offset / NOSE_AHEAD_OF_EARS, half the ears' spacing). The image is the face's
    strongest output (world depth under-reads turns). Mirrored video reads the same sign. NaN where
    the ears are under a tenth of the shoulders' width apart (about 75 degrees and beyond, or ears
    not found): there the angle is the landmarks' noise.
    """
    nose = image_xy[..., int(PoseLandmark.NOSE), 0]
    el, er = image_xy[..., int(PoseLandmark.LEFT_EAR), 0], image_xy[..., int(PoseLandmark.RIGHT_EAR), 0]
    shoulders = _norm(image_xy[..., int(PoseLandmark.LEFT_SHOULDER), :] - image_xy[..., int(PoseLandmark.RIGHT_SHOULDER), :])
    spread = el - er  # + with the person's left ear on the image right
    offset = (nose - (el + er) / 2) * np.sign(spread)
    yaw = np.degrees(np.arctan2(offset / NOSE_AHEAD_OF_EARS, np.abs(spread) / 2))
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(spread) >= 0.1 * shoulders, yaw, np.nan)


def horizontal_reach_m(world_xyz: FloatArray, point: PoseLandmark) -> FloatArray:
    """How far a landmark is from the body's vertical axis through the mid-hip, in the horizontal
    plane (world metres): a hand or foot reaching out in any direction, the camera's depth included."""
    mid = (world_xyz[..., int(PoseLandmark.LEFT_HIP), :] + world_xyz[..., int(PoseLandmark.RIGHT_HIP), :]) / 2
    d = world_xyz[..., int(point), :] - mid
    return np.hypot(d[..., 0], d[..., 2])


def width_ratio(image_xy: FloatArray) -> FloatArray:
    """Image shoulder-plus-hip width over torso length: about 1.1-1.5 facing the camera, near 0 side-on."""
    ls, rs = image_xy[..., int(PoseLandmark.LEFT_SHOULDER), :], image_xy[..., int(PoseLandmark.RIGHT_SHOULDER), :]
    lh, rh = image_xy[..., int(PoseLandmark.LEFT_HIP), :], image_xy[..., int(PoseLandmark.RIGHT_HIP), :]
    width = _norm(ls - rs) + _norm(lh - rh)
    torso = _norm((ls + rs) / 2 - (lh + rh) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(torso > 0, width / torso, np.nan)


def leg_points(image_xy: FloatArray, side: Side) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(hip, knee, ankle, toe, other hip) of one leg from a (..., 33, 2) landmark array."""
    leg, other = LEG[side], LEG[side.other]
    return (
        image_xy[..., int(leg.hip), :],
        image_xy[..., int(leg.knee), :],
        image_xy[..., int(leg.ankle), :],
        image_xy[..., int(leg.toe), :],
        image_xy[..., int(other.hip), :],
    )
