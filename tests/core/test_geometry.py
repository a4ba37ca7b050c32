"""Sign and plane conventions of the knee geometry (DOMAIN.md), on exact constructed points."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.core import geometry as g

# Person facing the camera: their left hip is on the image right.
L_HIP, R_HIP = np.array([360.0, 300.0]), np.array([280.0, 300.0])


def leg(knee_x: float, hip=L_HIP, other=R_HIP, ankle_x: float | None = None):
    ankle = np.array([hip[0] if ankle_x is None else ankle_x, 500.0])
    knee = np.array([knee_x, 400.0])
    return hip, knee, ankle, other


def test_straight_leg_reads_zero():
    assert g.fppa_deg(*leg(360.0)) == pytest.approx(0.0, abs=1e-9)


def test_knee_toward_other_leg_is_positive_valgus():
    # Knee 20 px medial over a 100 px thigh: each segment tilts atan(0.2), FPPA is twice that.
    expected = 2 * np.degrees(np.arctan(20 / 100))
    assert g.fppa_deg(*leg(340.0)) == pytest.approx(expected)
    assert g.fppa_deg(*leg(380.0)) == pytest.approx(-expected)


def test_sign_survives_turning_around_and_mirroring():
    # Back to the camera: the person's left hip is now on the image left.
    hip, other = np.array([280.0, 300.0]), np.array([360.0, 300.0])
    valgus_back = g.fppa_deg(*leg(300.0, hip=hip, other=other))
    assert valgus_back > 0
    # Mirroring the whole image (selfie video) keeps the sign.
    mirror = lambda p: np.array([640.0 - p[0], p[1]])  # noqa: E731
    h, k, a, o = leg(340.0)
    assert g.fppa_deg(mirror(h), mirror(k), mirror(a), mirror(o)) == pytest.approx(g.fppa_deg(h, k, a, o))


def test_shank_and_knee_toe_signs():
    hip, knee, ankle, other = leg(340.0)
    assert g.shank_angle_deg(hip, knee, ankle, other) == pytest.approx(np.degrees(np.arctan2(20, 100)))
    toe_lateral = np.array([375.0, 510.0])  # toes out: the toe lies lateral of the ankle
    # Knee 35 px medial of the toe over a ~102 px shank.
    assert g.knee_toe_offset(hip, knee, ankle, toe_lateral, other) == pytest.approx(35 / np.hypot(20, 100))
    hip, knee, ankle, other = leg(390.0)
    assert g.knee_toe_offset(hip, knee, ankle, toe_lateral, other) < 0


def test_knee_toe_px_sign_is_medial_whichever_way_the_person_faces():
    hip, knee, _, other = leg(340.0)  # facing the camera: the left knee 20 px toward the other hip
    toe = np.array([375.0, 510.0])
    assert g.knee_toe_px(hip, knee, toe, other) == pytest.approx(35.0)
    mirror = lambda p: np.array([640.0 - p[0], p[1]])  # selfie video, or back to camera
    assert g.knee_toe_px(mirror(hip), mirror(knee), mirror(toe), mirror(other)) == pytest.approx(35.0)
    assert g.knee_toe_px(hip, np.array([390.0, 400.0]), toe, other) == pytest.approx(-15.0)


def test_knee_toe_change_is_relative_to_standing_in_standing_shank_lengths():
    # Standing the knee stood 30 px medial of the toe over a 120 px shank; now 48 px medial while
    # the shank reads only 90 px (tilted toward the camera): the change uses the standing length.
    assert g.knee_toe_change(48.0, 30.0, 120.0) == pytest.approx(0.15)
    assert g.knee_toe_change(12.0, 30.0, 120.0) == pytest.approx(-0.15)  # moved laterally along a turned-out foot
    out = g.knee_toe_change(np.array([30.0, 42.0, np.nan]), 30.0, np.array([120.0, 120.0, 120.0]))
    assert out[0] == pytest.approx(0.0) and out[1] == pytest.approx(0.1) and np.isnan(out[2])
    assert np.isnan(g.knee_toe_change(40.0, 30.0, 0.0)) and np.isnan(g.knee_toe_change(40.0, 30.0, np.nan))


def test_vectorised_over_frames_and_nan_propagates():
    hips = np.stack([L_HIP] * 3)
    knees = np.array([[360.0, 400.0], [340.0, 400.0], [np.nan, np.nan]])
    ankles = np.stack([[360.0, 500.0]] * 3)
    others = np.stack([R_HIP] * 3)
    out = g.fppa_deg(hips, knees, ankles, others)
    assert out.shape == (3,)
    assert out[0] == pytest.approx(0.0, abs=1e-9) and out[1] > 0 and np.isnan(out[2])


def test_knee_flexion_from_3d_points():
    hip, knee = np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.45, 0.0])
    assert g.knee_flexion_deg(hip, knee, np.array([0.0, 0.88, 0.0])) == pytest.approx(0.0, abs=1e-6)
    assert g.knee_flexion_deg(hip, knee, np.array([0.0, 0.45, 0.43])) == pytest.approx(90.0)


def test_separation_ratio_and_pelvic_tilt():
    assert g.separation_ratio(np.array([300.0, 0]), np.array([340.0, 0]), np.array([280.0, 0]), np.array([360.0, 0])) == pytest.approx(0.5)
    # Left hip lower in the image (larger y): positive tilt.
    assert g.pelvic_tilt_deg(np.array([360.0, 310.0]), np.array([280.0, 300.0])) == pytest.approx(np.degrees(np.arctan2(10, 80)))


def test_body_yaw_from_world_landmarks():
    from tests.builders import LegPose, body_world

    assert g.body_yaw_deg(body_world(LegPose(), LegPose())) == pytest.approx(0.0, abs=1e-6)
    assert g.body_yaw_deg(body_world(LegPose(), LegPose(), yaw_deg=30.0)) == pytest.approx(30.0, abs=1e-6)
