"""The report pass's landmarks and metrics, computed from the Recording one window at a time.

The numbers in summary.json, frames.csv and the report come from the whole clip's raw landmarks:
leg labels chosen for the whole clip (smoothing.LegLabeller), visibility gate, short gaps
bridged, zero-phase Butterworth, then `compute_metrics`. `ReportFrames` gives those metrics for
any window of frames, reading the recording with OVERLAP_S of context on both sides and keeping
only the window's own frames. Within that overlap the filter's start-up transient at a cut has
died out (its slowest pole decays over the overlap by a factor of 1e-8 or less from 24 to 240
fps, 1e-6 at 10 fps, where the overlap is 60 frames) and short gaps (MAX_GAP_S) bridge across the
cut, so every window's numbers are those of filtering the whole clip at once
(tests/pipeline/test_report_pass.py). Nothing holds the session's landmarks or metrics: each stage of the
report pass walks the chunks (or the windows of its reps) it needs, which costs about 50 us a
frame each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from formcheck.core.metrics import Metrics, compute_metrics
from formcheck.core.smoothing import (
    MAX_GAP_S,
    VISIBILITY_GATE,
    LegLabeller,
    bridge_gaps,
    despike,
    filter_padding,
    leg_label_scale,
    sample_rate,
    swap_legs_where,
    torso_px,
    zero_phase_lowpass,
)
from formcheck.media.recording import Recording

CHUNK_FRAMES = 2048
OVERLAP_S = 2.0


def spans(n: int, size: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) spans of at most `size` frames covering n frames."""
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def leg_swaps(rec: Recording) -> np.ndarray:
    """Which frames' legs to exchange, chosen for the whole clip, read in chunks."""
    torso = np.concatenate([torso_px(rec.read(lo, hi)["image_xy"]) for lo, hi in spans(len(rec), CHUNK_FRAMES)])
    labeller = LegLabeller(leg_label_scale(torso))
    for lo, hi in spans(len(rec), CHUNK_FRAMES):
        r = rec.read(lo, hi)
        labeller.feed(r["t_s"], r["image_xy"], r["world_xyz"], r["visibility"])
    return labeller.finish()


def smooth_landmarks(
    t_s: np.ndarray, points: np.ndarray, unseen: np.ndarray, swap: np.ndarray, fs: float, spikes: bool = True
) -> np.ndarray:
    """The report pass's cleaning of one landmark array ((N, 33, k), a new float64 array): legs
    exchanged on the `swap` frames, `unseen` joints (after the exchange) dropped, short gaps
    bridged, spikes removed (unless `spikes` is false: a hop's flight is a spike to the Hampel
    filter), zero-phase Butterworth. The exports use it too, so their markers are the ones the
    report's numbers come from."""
    out = swap_legs_where(points.astype(np.float64), swap)
    out[unseen] = np.nan  # MediaPipe places unseen joints anyway
    bridged = bridge_gaps(t_s, out, MAX_GAP_S, copy=False)
    return zero_phase_lowpass(t_s, despike(bridged, fs) if spikes else bridged, copy=False, fs=fs)


def person_height_px(xy: np.ndarray) -> np.ndarray:
    """Per frame, the landmarks' vertical extent in pixels (NaN without landmarks)."""
    y = xy[..., 1]
    seen = np.isfinite(y).any(axis=-1)
    out = np.full(len(y), np.nan)
    out[seen] = np.nanmax(y[seen], axis=-1) - np.nanmin(y[seen], axis=-1)
    return out


@dataclass(frozen=True)
class FrameWindow:
    """Frames [lo, hi) of a session as the report pass sees them."""

    lo: int
    hi: int
    metrics: Metrics  # zero-phase, this window's frames only
    frame_index: np.ndarray  # the source's frame numbers
    cue: np.ndarray  # int16 codes into ReportFrames.cue_texts
    people: np.ndarray  # how many people the model saw
    height_px: np.ndarray  # the person's landmark extent (for the "small in the frame" warning)


class ReportFrames:
    """Zero-phase metrics of any window of a recorded session, on demand (module docstring)."""

    def __init__(self, rec: Recording, frontal_max_yaw_deg: float, despike: bool = True) -> None:
        self.rec = rec
        self.despike = despike  # false for exercises whose fast moves look like spikes (`Tracker.despike`)
        self.frontal_max_yaw_deg = frontal_max_yaw_deg
        self.t_s = rec.t_s
        self.cue_texts = list(rec.cue_texts)
        self.fs = sample_rate(self.t_s) if len(self.t_s) >= 2 else 30.0
        self.overlap = max(int(np.ceil(OVERLAP_S * self.fs)), 4 * filter_padding())
        self.swapped = leg_swaps(rec)
        # Every stage walks the chunks again; the last window is kept, so a clip of one chunk
        # (up to 2,048 frames, about a minute) is smoothed once.
        self._last: FrameWindow | None = None

    def __len__(self) -> int:
        return len(self.t_s)

    def window(self, lo: int, hi: int) -> FrameWindow:
        n = len(self)
        lo, hi = max(0, lo), min(n, hi)
        if self._last is not None and (self._last.lo, self._last.hi) == (lo, hi):
            return self._last
        a, b = max(0, lo - self.overlap), min(n, hi + self.overlap)
        r = self.rec.read(a, b)
        t, swap = self.t_s[a:b], self.swapped[a:b]
        unseen = swap_legs_where(r["visibility"], swap) < VISIBILITY_GATE

        def smoothed(name: str) -> np.ndarray:
            return smooth_landmarks(t, r[name], unseen, swap, self.fs, self.despike)[lo - a : hi - a]

        xy = smoothed("image_xy")
        own = r[lo - a : hi - a]
        self._last = FrameWindow(
            lo=lo,
            hi=hi,
            metrics=compute_metrics(self.t_s[lo:hi], xy, smoothed("world_xyz"), self.frontal_max_yaw_deg),
            frame_index=own["frame_index"].copy(),  # copies: the chunk's records are freed
            cue=own["cue"].copy(),
            people=own["people"].copy(),
            height_px=person_height_px(xy),
        )
        return self._last

    def metrics(self, lo: int, hi: int) -> Metrics:
        return self.window(lo, hi).metrics

    def metrics_of(self, spans: list[tuple[int, int]]) -> Iterator[tuple[int, Metrics]]:
        """(position in `spans`, metrics) of each [lo, hi) span, in order of lo: a span inside a
        chunk is cut from that chunk's metrics, one across a cut is computed on its own (reps
        scored one by one would each pay for smoothing their overlap)."""
        if not spans:
            return
        order = sorted(range(len(spans)), key=lambda j: spans[j])
        k = 0
        for w in self.chunks():
            while k < len(order) and spans[order[k]][0] < w.hi:
                lo, hi = spans[order[k]]
                inside = lo >= w.lo and hi <= w.hi
                yield order[k], w.metrics.at(slice(lo - w.lo, hi - w.lo)) if inside else self.metrics(lo, hi)
                k += 1
            if k == len(order):
                return

    def chunks(self) -> Iterator[FrameWindow]:
        """The whole session, CHUNK_FRAMES at a time, in order."""
        for lo, hi in spans(len(self), CHUNK_FRAMES):
            yield self.window(lo, hi)
