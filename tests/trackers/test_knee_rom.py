"""knee-rom on constructed landmarks (pure, fast): reps counted in the right direction for the
resting posture, each rep's max flexion and fullest extension per working leg, from the image
angle from the side and the world angle from the front, with the two estimates' disagreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.core.landmarks import NUM_LANDMARKS, PoseLandmark as P, Side
from formcheck.core.metrics import compute_metrics
from formcheck.trackers import tracker_class

FPS = 30.0
U, F, LAT = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])  # body: up, forward, left


def _sagittal(direction: np.ndarray, deg: float) -> np.ndarray:
    """`direction` (in the up-forward plane) turned `deg` degrees from forward toward down."""
    a = math.radians(deg)
    f, u = float(direction @ F), float(direction @ U)
    return (math.cos(a) * f + math.sin(a) * u) * F + (math.cos(a) * u - math.sin(a) * f) * U


def _frame(flex: dict[Side, float], pose: str, view: str, world_bias_deg: float = 0.0):
    """(image_xy, world_xyz) for a seated or lying (supine, heel slide) body with these knee
    flexions, seen from the left side or the front; the world ankle is off by `world_bias_deg`
    of extra flexion (the model's world estimate reading a straight knee as bent)."""
    body = {}
    for side, lat in ((Side.LEFT, 0.1), (Side.RIGHT, -0.1)):
        p = "LEFT_" if side is Side.LEFT else "RIGHT_"
        hip = lat * LAT
        thigh = F if pose == "seated" else _sagittal(F, -flex[side] / 2)  # lying: the knee rises as it bends
        knee = hip + 0.45 * thigh
        body[P[p + "HIP"]], body[P[p + "KNEE"]] = hip, knee
        body[P[p + "ANKLE"]] = knee + 0.43 * _sagittal(thigh, flex[side])
        body[("world", p)] = knee + 0.43 * _sagittal(thigh, flex[side] + world_bias_deg)
        trunk = 0.5 * U if pose == "seated" else -0.5 * F
        body[P[p + "SHOULDER"]] = hip + trunk + 0.08 * lat / 0.1 * LAT
    # camera-aligned axes (x right, y down, z depth) for each view
    if view == "side":  # camera on the person's left: forward is image left, left is toward the camera
        axes = np.stack([-F, -U, -LAT])
    else:  # facing the camera
        axes = np.stack([-LAT, -U, -F])
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    w = np.zeros((NUM_LANDMARKS, 3))
    for k, pt in body.items():
        if isinstance(k, tuple):
            continue
        cam = axes @ pt
        xy[k] = (320 + 400 * cam[0], 240 + 400 * cam[1])
        w[k] = cam
    for p in ("LEFT_", "RIGHT_"):
        w[P[p + "ANKLE"]] = axes @ body[("world", p)]
    return xy, w


def _bumps(t: np.ndarray, rest: float, ends: list[float], period: float = 2.5, lead: float = 1.5, gap: float = 1.0) -> np.ndarray:
    out = np.full_like(t, rest)
    for k, end in enumerate(ends):
        start = lead + k * (period + gap)
        inside = (t >= start) & (t < start + period)
        out[inside] = rest + (end - rest) * 0.5 * (1 - np.cos(2 * math.pi * (t[inside] - start) / period))
    return out


def _run(pose: str, view: str, working: Side, rest: float, ends: list[float], world_bias_deg: float = 0.0):
    t = np.arange(0, 1.5 + len(ends) * 3.5 + 1.0, 1 / FPS)
    work = _bumps(t, rest, ends)
    tracker = tracker_class("knee-rom")()
    for i, ti in enumerate(t):
        flex = {working: float(work[i]), working.other: rest}
        xy, w = _frame(flex, pose, view, world_bias_deg)
        tracker.update(i, compute_metrics(np.float64(ti), xy, w))
    tracker.finish()
    return tracker.state.reps


@pytest.mark.parametrize("working", [Side.LEFT, Side.RIGHT])
def test_seated_extension_from_the_side_reports_the_image_angle(working):
    ends = [10.0, 30.0, 20.0]
    reps = _run("seated", "side", working, 95.0, ends, world_bias_deg=20.0)
    assert len(reps) == 3
    for rep, end in zip(reps, ends):
        assert rep.legs == (working,)
        (rom,) = rep.knee_rom
        assert rom.leg is working and rom.measure == "image"
        assert rom.max_flexion_deg == pytest.approx(95.0, abs=1.0)
        assert rom.fullest_extension_deg == pytest.approx(end, abs=1.0)
        # the world estimate reads 20 degrees more bent: that is the stated disagreement
        assert rom.uncertainty_deg == pytest.approx(20.0, abs=1.5)


def test_heel_slides_lying_count_bends_with_their_range():
    ends = [100.0, 80.0, 115.0, 90.0]
    reps = _run("lying", "side", Side.RIGHT, 3.0, ends)
    assert len(reps) == 4
    for rep, end in zip(reps, ends):
        (rom,) = rep.knee_rom
        assert rom.leg is Side.RIGHT and rom.measure == "image"
        assert rom.max_flexion_deg == pytest.approx(end, abs=1.0)
        assert rom.fullest_extension_deg == pytest.approx(3.0, abs=1.0)
        assert rom.uncertainty_deg == pytest.approx(0.0, abs=1.0)
        assert rep.range_deg == pytest.approx(end - 3.0, abs=8.0)


def test_facing_the_camera_the_world_angle_is_reported():
    """Seated facing the camera the shank swings toward the lens: the image angle is foreshortened
    (a knee bent 95 degrees reads nearly straight), so the world angle is the one reported."""
    ends = [10.0, 40.0]
    reps = _run("seated", "front", Side.LEFT, 95.0, ends)
    assert len(reps) == 2
    for rep, end in zip(reps, ends):
        (rom,) = rep.knee_rom
        assert rom.measure == "world"
        assert rom.max_flexion_deg == pytest.approx(95.0, abs=1.0)
        assert rom.fullest_extension_deg == pytest.approx(end, abs=1.0)
        assert rom.uncertainty_deg is None  # the thigh points at the lens: no image angle to compare


def test_a_twitch_is_not_a_rep():
    reps = _run("seated", "side", Side.LEFT, 95.0, [85.0, 20.0, 88.0, 25.0])
    assert [round(r.knee_rom[0].fullest_extension_deg) for r in reps] == [20, 25]
