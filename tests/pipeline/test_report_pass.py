"""The report pass reads the recording in chunks: the same numbers as smoothing the whole clip at
once, in memory that does not grow with the session."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.metrics import LegMetrics, Metrics, compute_metrics
from formcheck.core.smoothing import (
    VISIBILITY_GATE, bridge_gaps, despike, sample_rate, swap_legs_where, whole_clip_leg_swaps, zero_phase_lowpass,
)
from formcheck.media.recording import Recording
from formcheck.pipeline.session import summarize
from formcheck.pipeline import report_frames
from tests.trackers.test_squat_tracker import INFO, run, times
from tests.judging.test_valgus_scoring import shifts
from tests.builders import squat_flexion


def _whole_clip_metrics(rec: Recording, config: Config) -> Metrics:
    """The report pass done on the whole clip at once (as it was before it read in chunks)."""
    t = rec.t_s
    xy, world, vis = rec.column("image_xy"), rec.column("world_xyz"), rec.column("visibility")
    swapped = whole_clip_leg_swaps(t, xy, world, vis)
    unseen = swap_legs_where(vis, swapped) < VISIBILITY_GATE

    def smoothed(points: np.ndarray) -> np.ndarray:
        p = swap_legs_where(points.astype(np.float64), swapped)
        p[unseen] = np.nan
        return zero_phase_lowpass(t, despike(bridge_gaps(t, p), sample_rate(t)))

    return compute_metrics(t, smoothed(xy), smoothed(world), config.thresholds.frontal_max_yaw_deg)


def _arrays(m: Metrics | LegMetrics, prefix: str = ""):
    for f in dataclasses.fields(m):
        value = getattr(m, f.name)
        if isinstance(value, LegMetrics):
            yield from _arrays(value, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, value


def test_report_pass_in_chunks_equals_the_whole_clip(monkeypatch):
    reps = 4
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=80.0)
    present = np.ones(len(t), dtype=bool)
    present[70:76] = False  # 6 frames (0.23 s from the last seen to the next): bridged, across the cut at 74
    present[150:185] = False  # 1.2 s in rep 2: left missing, and that rep rejected
    pipe, _ = run(flex, shift=shifts(t, flex, [0.0, 0.06, 0.0, 0.06], reps), present=present, noise_px=2.0)
    whole_clip = _whole_clip_metrics(pipe.recording, Config())
    whole = summarize(pipe.recording, "squat", Config(), INFO)

    monkeypatch.setattr(report_frames, "CHUNK_FRAMES", 37)  # many cuts, each inside reps and gaps
    frames = report_frames.ReportFrames(pipe.recording, Config().thresholds.frontal_max_yaw_deg)
    for w in frames.chunks():
        for (name, got), (_, want) in zip(_arrays(w.metrics), _arrays(whole_clip.at(slice(w.lo, w.hi)))):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=f"{name} in {w.lo}-{w.hi}")
    assert w.hi == len(pipe.recording)
    fppa = frames.metrics(0, len(pipe.recording)).left.fppa_deg
    assert np.isnan(fppa[155:180]).all() and np.isfinite(fppa[70:76]).all()

    in_chunks = summarize(pipe.recording, "squat", Config(), INFO)
    assert len(whole.reps) == reps - 1
    assert [s.rep for s in in_chunks.reps] == [s.rep for s in whole.reps]
    assert [s.valgus for s in in_chunks.reps] == [s.valgus for s in whole.reps] != [{}] * (reps - 1)
    for a, b in zip(in_chunks.reps, whole.reps):
        assert a.peak_fppa_deg == pytest.approx(b.peak_fppa_deg, abs=1e-9)
