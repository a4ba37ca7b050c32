"""The filters: jitter removed, peaks kept, gaps handled, leg swaps undone."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.smoothing import (
    OneEuroLandmarkFilter,
    bridge_gaps,
    leg_swap_detected,
    swap_legs,
    zero_phase_lowpass,
)
from tests.builders import LegPose, pose_frame

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
