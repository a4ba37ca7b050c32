"""The filters: jitter removed, peaks kept, gaps handled, leg swaps undone."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.core.landmarks import PoseLandmark as P
from formcheck.core.smoothing import (
    LegLabeller,
    OneEuroLandmarkFilter,
    bridge_gaps,
    despike,
    leg_label_scale,
    leg_swap_detected,
    swap_legs,
    swap_legs_where,
    torso_px,
    whole_clip_leg_swaps,
    zero_phase_lowpass,
)
from tests.builders import LegPose, pose_frame, squat_flexion

FPS = 30.0


def test_one_euro_cuts_jitter_and_follows_a_step():
    rng = np.random.default_rng(1)
    f = OneEuroLandmarkFilter()
    vis = np.ones(33)
    out = []
    for i in range(120):
        truth = 100.0 if i < 60 else 160.0
        pts = np.full((33, 2), truth) + rng.normal(0, 2.0, (33, 2))
        out.append(f.update(pts, vis, i / FPS, scale=300.0)[0, 0])
    out = np.array(out)
    assert np.std(out[20:60]) < 0.6 * 2.0  # jitter reduced well under the raw 2 px
    assert abs(out[69] - 160.0) < 6.0  # within 0.3 s of a 60 px jump it is nearly there


def test_one_euro_holds_short_gaps_then_drops_landmark():
    f = OneEuroLandmarkFilter(max_gap_s=0.25)
    pts = np.full((33, 2), 50.0)
    seen, hidden = np.ones(33), np.ones(33)
    hidden[25] = 0.1  # left knee under the visibility gate
    f.update(pts, seen, 0.0, 300.0)
    assert f.update(pts, hidden, 0.2, 300.0)[25, 0] == pytest.approx(50.0)
    assert np.isnan(f.update(pts, hidden, 0.4, 300.0)[25, 0])
    assert f.update(pts + 10, seen, 0.5, 300.0)[25, 0] == pytest.approx(60.0)  # restarts, no slide


def test_bridge_gaps_short_only():
    t = np.arange(20) / FPS
    x = np.arange(20, dtype=float)
    x[5:8] = np.nan  # 0.13 s gap: bridged
    x[10:19] = np.nan  # 0.33 s gap: left missing
    out = bridge_gaps(t, x, max_gap_s=0.25)
    assert np.allclose(out[5:8], [5, 6, 7])
    assert np.isnan(out[10:19]).all()


def test_zero_phase_filter_keeps_peak_time_and_height():
    t = np.arange(0, 6, 1 / FPS)
    clean = 50 * np.exp(-((t - 3.0) ** 2) / (2 * 0.4**2))
    noisy = clean + np.random.default_rng(2).normal(0, 2, t.size)
    out = zero_phase_lowpass(t, noisy, cutoff_hz=6.0)
    assert abs(t[np.argmax(out)] - 3.0) <= 2 / FPS  # no lag
    assert out.max() == pytest.approx(50, abs=3)  # peak not blunted
    assert np.std(out - clean) < 0.6 * np.std(noisy - clean)


def test_zero_phase_filter_low_frame_rate_and_nan_runs():
    t = np.arange(0, 4, 0.1)  # 10 fps: cutoff above Nyquist is lowered, not an error
    x = np.sin(t)
    x[15:18] = np.nan
    out = zero_phase_lowpass(t, x)
    assert np.isnan(out[15:18]).all() and np.isfinite(out[:15]).all()


def test_leg_swap_detected_and_undone():
    a = pose_frame(0.0, LegPose(30), LegPose(30)).image_xy
    swapped = swap_legs(a)
    assert not leg_swap_detected(a, a)
    assert leg_swap_detected(a, swapped)
    assert np.allclose(swap_legs(swapped), a)


# -- whole-clip leg labelling (report pass) ----------------------------------------------------

LEFT_LOWER = [P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX]


def clip(n: int = 300, yaw: float = 0.0, seed: int = 0, cross_left_px: np.ndarray | None = None):
    """(t, image_xy, world_xyz, visibility) of squats; `cross_left_px` moves the left knee, ankle and
    foot sideways in the image by that much per frame (toward the right leg: a real crossing)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    flex = squat_flexion(t, 3, depth_deg=70.0)
    frames = [pose_frame(t[i], LegPose(flex[i]), LegPose(flex[i]), yaw_deg=yaw, noise_px=1.0, rng=rng) for i in range(n)]
    xy = np.stack([f.image_xy for f in frames])
    if cross_left_px is not None:
        xy[:, LEFT_LOWER, 0] -= cross_left_px[:, None]
    return t, xy, np.stack([f.world_xyz for f in frames]), np.stack([f.visibility for f in frames])


def test_whole_clip_labels_leave_a_clean_clip_alone():
    for yaw in (0.0, 35.0):
        t, xy, world, vis = clip(yaw=yaw)
        assert not whole_clip_leg_swaps(t, xy, world, vis).any()


@pytest.mark.parametrize("first, stop, yaw", [(100, 200, 0.0), (5, 40, 0.0), (150, 300, 0.0), (100, 200, 35.0), (5, 40, 35.0)])
def test_persistent_swaps_are_found_whole(first, stop, yaw):
    """The model exchanges the legs for a stretch, where a frame-to-frame check only sees the two
    edges. Exactly those frames are swapped back, and undoing them restores the clip. Facing the
    camera the crossed legs give it away even for half the clip; turned (35 degrees) continuity
    and the model being right most of the time do."""
    t, xy, world, vis = clip(yaw=yaw)
    bad = np.zeros(len(t), dtype=bool)
    bad[first:stop] = True
    seen = swap_legs_where(xy.copy(), bad)
    found = whole_clip_leg_swaps(t, seen, swap_legs_where(world.copy(), bad), vis)
    assert np.array_equal(found, bad)
    assert np.allclose(swap_legs_where(seen, found), xy)


def test_swap_missed_by_the_frame_guard_is_found():
    """The guard follows the previous frame's labels, so missing one switch inverts the labels of
    everything after it. Over the whole clip the labels come out right even from guarded input."""
    t, xy, world, vis = clip()
    guarded = swap_legs_where(xy.copy(), np.arange(len(t)) >= 120)  # guard missed the switch back at 120
    assert np.array_equal(whole_clip_leg_swaps(t, guarded, world, vis), np.arange(len(t)) >= 120)


def test_crossed_legs_are_relabelled_only_while_facing_the_camera():
    """A leg whose knee and foot move across the other one: facing the camera that is the model's
    mislabel (legs do not cross under the hips in these exercises); with the body turned 35
    degrees a long step forward does cross them in the image, so the labels are kept."""
    n = 300
    ramp = np.clip(np.minimum(np.arange(n) - 80, 220 - np.arange(n)) / 30.0, 0.0, 1.0)
    for yaw, expect_relabel in ((0.0, True), (35.0, False)):
        t, xy, world, vis = clip(n, yaw=yaw)
        hip_px = xy[0, P.LEFT_HIP, 0] - xy[0, P.RIGHT_HIP, 0]
        t, xy, world, vis = clip(n, yaw=yaw, cross_left_px=2.0 * hip_px * ramp)
        found = whole_clip_leg_swaps(t, xy, world, vis)
        crossed = ramp > 0.75  # knees and ankles a hip width or more across
        if expect_relabel:
            assert found[crossed].all() and not found[ramp == 0].any()
        else:
            assert not found.any()


def test_missing_frames_and_long_gaps():
    t, xy, world, vis = clip()
    vis = vis.copy()
    vis[50:70] = 0.0  # the person lost for 0.7 s: the chain restarts after it
    xy[50:70] = np.nan
    bad = np.zeros(len(t), dtype=bool)
    bad[70:90] = True
    found = whole_clip_leg_swaps(t, swap_legs_where(xy.copy(), bad), world, vis)
    assert np.array_equal(found, bad)
    assert not whole_clip_leg_swaps(t[:1], xy[:1], world[:1], vis[:1]).any()


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_leg_labels_chosen_chunk_by_chunk_are_the_whole_clips(chunk):
    """The report pass feeds the labelling from the recording in chunks: the same labels as one
    call on the whole clip, whatever the chunk size, across a gap and a persistent swap."""
    t, xy, world, vis = clip()
    vis = vis.copy()
    vis[50:70] = 0.0
    bad = np.zeros(len(t), dtype=bool)
    bad[70:90] = bad[150:230] = True
    xy = swap_legs_where(xy.copy(), bad)
    whole = whole_clip_leg_swaps(t, xy, world, vis)
    assert np.array_equal(whole, bad)
    labeller = LegLabeller(leg_label_scale(torso_px(xy)))
    for lo in range(0, len(t), chunk):
        hi = lo + chunk
        labeller.feed(t[lo:hi], xy[lo:hi], world[lo:hi], vis[lo:hi])
    assert np.array_equal(labeller.finish(), whole)


def test_despike_removes_a_few_frame_jump_and_keeps_trends_and_peaks():
    """The model's glitch (a knee 20-30 px off for a few frames, then back) goes; motion stays."""
    fs = 30.0
    t = np.arange(300) / fs
    rng = np.random.default_rng(1)
    # A rep: the knee drifts 40 px inward and back over 2 s (a real valgus hump), plus noise.
    clean = 300 + 40 * np.exp(-(((t - 5.0) / 0.6) ** 2)) + 3 * t + rng.normal(0, 0.3, t.size)
    glitched = clean.copy()
    glitched[92:97] -= [7, 14, 30, 11, 7]  # as seen on sample_videos/squat_front_clean.mp4
    points = np.stack([glitched, glitched[::-1]], axis=1)
    out = despike(points, fs)
    assert np.max(np.abs(out[:, 0] - clean)) < 3.0  # the 30 px glitch is gone
    hump = slice(120, 180)  # the valgus hump and its peak pass (noise only is touched)
    assert np.max(np.abs(out[hump, 0] - clean[hump])) < 1.5
    assert np.max(out[hump, 0]) == pytest.approx(np.max(clean[hump]), abs=1.0)
    assert np.array_equal(np.isnan(despike(np.where(t < 1, np.nan, clean), fs)), t < 1)  # gaps stay gaps
