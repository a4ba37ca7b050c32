"""Per-frame body metrics from landmarks: one vectorised function for live frames and whole clips.

`compute_metrics` takes landmark arrays with any leading shape, (33, 2) for one frame or
(N, 33, 2) for a clip, so the live path and the report path run the very same arithmetic.
Leg measures are NaN where that leg's hip, knee or ankle is missing; valgus measures are also
NaN where the view is not frontal enough to read them (DOMAIN.md: a turned camera can make varus
read as valgus, so formcheck refuses to score rather than reporting a wrong number).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

import numpy as np

from formcheck.config import Thresholds
from formcheck.core import geometry as g
from formcheck.core.landmarks import LEG, SIDES, Side


class View(str, enum.Enum):
    FRONTAL = "frontal"
    OBLIQUE = "oblique"
    SIDE = "side"
    UNKNOWN = "unknown"


# Body rotation from the world landmarks (degrees from facing the camera). Measured on the real
# clips in ../shared/media: frontal clips' medians 1-15, the ~30 degree oblique lunge 25, the ~45
# degree step-down 53, side-on clips 59-83. The frontal limit is a threshold a therapist may change.
FRONTAL_MAX_YAW_DEG = Thresholds().frontal_max_yaw_deg
SIDE_MIN_YAW_DEG = 55.0
# Image width of shoulders plus hips over torso length: side-on bodies read 0.1-0.5.
SIDE_MAX_WIDTH_RATIO = 0.35

VIEW_CODES = (View.FRONTAL, View.OBLIQUE, View.SIDE, View.UNKNOWN)


def classify_view(yaw_deg: np.ndarray, width_ratio: np.ndarray, frontal_max_yaw_deg: float = FRONTAL_MAX_YAW_DEG) -> np.ndarray:
    """View code per frame (index into VIEW_CODES)."""
    yaw = np.asarray(yaw_deg, dtype=float)
    wr = np.asarray(width_ratio, dtype=float)
    code = np.full(yaw.shape, 3, dtype=np.int8)
    code = np.where(yaw < frontal_max_yaw_deg, 0, code)
    code = np.where(yaw >= frontal_max_yaw_deg, 1, code)
    code = np.where((yaw >= SIDE_MIN_YAW_DEG) | (wr < SIDE_MAX_WIDTH_RATIO), 2, code)
    return np.where(np.isnan(yaw), 3, code).astype(np.int8)


@dataclass(frozen=True)
class LegMetrics:
    fppa_deg: np.ndarray
    shank_deg: np.ndarray
    knee_toe: np.ndarray
    knee_toe_px: np.ndarray  # the same offset in pixels (frontal only): scoring compares it with standing
    flexion_deg: np.ndarray  # from the world (3D) landmarks
    # The same angle in the image: true where the leg bends in the image plane (side view),
    # foreshortened where it bends toward the camera
    flexion_2d_deg: np.ndarray
    thigh_px: np.ndarray  # 2D hip-knee length: shrinks as the thigh points at the camera
    shank_px: np.ndarray  # 2D knee-ankle length
    hip_ankle_px: np.ndarray  # 2D hip-ankle length: shrinks as the leg bends
    hip_y: np.ndarray
    ankle_y: np.ndarray
    ankle_x: np.ndarray
    sole_y: np.ndarray  # the lower of heel and toe in the image: the foot's first and last touch of the floor
    knee_x: np.ndarray
    knee_y: np.ndarray  # image positions: single-leg and lying exercises compare the two legs
    hip_x: np.ndarray
    heel_over_toe_px: np.ndarray  # toe y minus heel y: grows as the heel rises off the floor (tiptoes)
    ankle_reach_m: np.ndarray  # world metres from the body's vertical axis: a free foot reaching out
    wrist_reach_m: np.ndarray  # the same for this side's wrist: an arm reaching out
    leg_m: np.ndarray  # world thigh plus shank length: the unit of a reach


@dataclass(frozen=True)
class Metrics:
    """Everything later stages read about the body, per frame (arrays share one leading shape)."""

    t_s: np.ndarray
    pose: np.ndarray  # bool: a person was found
    left: LegMetrics
    right: LegMetrics
    separation_ratio: np.ndarray
    pelvic_tilt_deg: np.ndarray
    trunk_lean_deg: np.ndarray
    hip_line_rise_deg: np.ndarray  # world hip line above level: lying on the side reads near 90
    yaw_deg: np.ndarray
    heading_deg: np.ndarray  # the shoulder line's signed rotation (world landmarks): a pivot's trunk turn
    head_yaw_deg: np.ndarray  # the head's turn from the image (nose against the ears), + to the person's left
    width_ratio: np.ndarray
    view: np.ndarray  # int8 codes into VIEW_CODES
    body_px: np.ndarray  # torso + leg length in pixels, for normalising distances
    hip_width_px: np.ndarray  # steady in a frontal view whatever the legs do: the thigh's yardstick

    def leg(self, side: Side) -> LegMetrics:
        return self.left if side is Side.LEFT else self.right

    def at(self, i: int | slice) -> "Metrics":
        """One frame (or a slice) of a clip's metrics."""

        def take(obj):  # noqa: ANN001, ANN202 - Metrics or LegMetrics
            values = {}
            for f in fields(obj):
                value = getattr(obj, f.name)
                values[f.name] = take(value) if isinstance(value, LegMetrics) else value[i]
            return type(obj)(**values)

        return take(self)


def compute_metrics(
    t_s: np.ndarray,
    image_xy: np.ndarray,
    world_xyz: np.ndarray,
    frontal_max_yaw_deg: float = FRONTAL_MAX_YAW_DEG,
) -> Metrics:
    """Metrics from (smoothed) landmarks; missing landmarks are NaN, and a NaN hip means no pose."""
    t_s = np.asarray(t_s, dtype=float)
    yaw = g.body_yaw_deg(world_xyz)
    wr = g.width_ratio(image_xy)
    view = classify_view(yaw, wr, frontal_max_yaw_deg)
    frontal = view == 0

    legs = {}
    for side in SIDES:
        hip, knee, ankle, toe, other_hip = g.leg_points(image_xy, side)
        leg = LEG[side]
        w = world_xyz
        flexion = g.knee_flexion_deg(w[..., int(leg.hip), :], w[..., int(leg.knee), :], w[..., int(leg.ankle), :])
        # World landmarks exist even for unseen joints; tie flexion to the image leg being present.
        leg_ok = np.all(np.isfinite(hip) & np.isfinite(knee) & np.isfinite(ankle), axis=-1)
        flexion = np.where(leg_ok, flexion, np.nan)
        legs[side] = LegMetrics(
            fppa_deg=np.where(frontal, g.fppa_deg(hip, knee, ankle, other_hip), np.nan),
            shank_deg=np.where(frontal, g.shank_angle_deg(hip, knee, ankle, other_hip), np.nan),
            knee_toe=np.where(frontal, g.knee_toe_offset(hip, knee, ankle, toe, other_hip), np.nan),
            knee_toe_px=np.where(frontal, g.knee_toe_px(hip, knee, toe, other_hip), np.nan),
            flexion_deg=flexion,
            flexion_2d_deg=g.knee_flexion_deg(hip, knee, ankle),
            thigh_px=np.linalg.norm(knee - hip, axis=-1),
            shank_px=np.linalg.norm(ankle - knee, axis=-1),
            hip_ankle_px=np.linalg.norm(ankle - hip, axis=-1),
            hip_y=hip[..., 1],
            ankle_y=ankle[..., 1],
            ankle_x=ankle[..., 0],
            sole_y=np.fmax(toe[..., 1], image_xy[..., int(leg.heel), 1]),
            knee_x=knee[..., 0],
            knee_y=knee[..., 1],
            hip_x=hip[..., 0],
            heel_over_toe_px=toe[..., 1] - image_xy[..., int(leg.heel), 1],
            ankle_reach_m=g.horizontal_reach_m(w, leg.ankle),
            wrist_reach_m=g.horizontal_reach_m(w, leg.wrist),
            leg_m=np.where(leg_ok, np.linalg.norm(w[..., int(leg.knee), :] - w[..., int(leg.hip), :], axis=-1)
                           + np.linalg.norm(w[..., int(leg.ankle), :] - w[..., int(leg.knee), :], axis=-1), np.nan),
        )
    L, R = LEG[Side.LEFT], LEG[Side.RIGHT]
    xy = image_xy
    hip_l, hip_r = xy[..., int(L.hip), :], xy[..., int(R.hip), :]
    sh_l, sh_r = xy[..., int(L.shoulder), :], xy[..., int(R.shoulder), :]
    torso = np.linalg.norm((sh_l + sh_r) / 2 - (hip_l + hip_r) / 2, axis=-1)
    body = torso + np.fmax(legs[Side.LEFT].hip_ankle_px, legs[Side.RIGHT].hip_ankle_px)
    return Metrics(
        t_s=t_s,
        pose=np.all(np.isfinite(hip_l) & np.isfinite(hip_r), axis=-1),
        left=legs[Side.LEFT],
        right=legs[Side.RIGHT],
        separation_ratio=np.where(
            frontal,
            g.separation_ratio(xy[..., int(L.knee), :], xy[..., int(R.knee), :], xy[..., int(L.ankle), :], xy[..., int(R.ankle), :]),
            np.nan,
        ),
        pelvic_tilt_deg=g.pelvic_tilt_deg(hip_l, hip_r),
        trunk_lean_deg=g.trunk_lean_deg(hip_l, hip_r, sh_l, sh_r),
        hip_line_rise_deg=g.hip_line_rise_deg(world_xyz),
        yaw_deg=yaw,
        heading_deg=g.shoulder_heading_deg(world_xyz),
        head_yaw_deg=g.head_yaw_deg(xy),
        width_ratio=wr,
        view=view,
        body_px=body,
        hip_width_px=np.linalg.norm(hip_l - hip_r, axis=-1),
    )
