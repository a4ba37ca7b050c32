"""Landmark smoothing: a causal One Euro filter for live cues, a zero-phase Butterworth for reports.

The Tasks API dropped the landmark smoothing the legacy solution had, and raw BlazePose jitters
by several pixels. Causal filters delay and blunt peaks, so the numbers in reports come from a
zero-phase filter over the whole recording instead (DOMAIN.md); live cues need causality and use
One Euro, whose cutoff rises with speed so fast movements lag little.

Landmarks whose visibility is under the gate count as missing. Short gaps are bridged (held live,
interpolated offline); longer gaps stay NaN and are counted by the caller.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from formcheck.core.landmarks import LEG_SWAP_PAIRS

VISIBILITY_GATE = 0.5
MAX_GAP_S = 0.25


@dataclass(frozen=True)
class OneEuroParams:
    """One Euro parameters for coordinates in body-scale units (leg lengths) and seconds."""

    min_cutoff_hz: float = 1.0
    beta: float = 10.0
    d_cutoff_hz: float = 1.0


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroLandmarkFilter:
    """Causal One Euro filter over all landmarks at once, gated by visibility.

    A landmark that is missing (NaN or under the visibility gate) keeps its last filtered value
    for up to `max_gap_s`, then becomes NaN; when it returns the filter restarts from it rather
    than sliding across the gap.
    """

    def __init__(self, params: OneEuroParams = OneEuroParams(), max_gap_s: float = MAX_GAP_S) -> None:
        self.params = params
        self.max_gap_s = max_gap_s
        self._x: np.ndarray | None = None  # (33, D) filtered
        self._dx: np.ndarray | None = None
        self._t_seen: np.ndarray | None = None  # (33,) last time each landmark was observed
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t_seen = None
        self._t = None

    def update(self, points: np.ndarray, visibility: np.ndarray, t_s: float, scale: float) -> np.ndarray:
        """Filter one frame of (33, D) points; `scale` (pixels per body unit) normalises speed."""
        seen = (visibility >= VISIBILITY_GATE) & np.all(np.isfinite(points), axis=-1)
        if self._x is None or self._t is None or t_s <= self._t:
            self._x = np.where(seen[:, None], points, np.nan)
            self._dx = np.zeros_like(points)
            self._t_seen = np.where(seen, t_s, -np.inf)
            self._t = t_s
            return self._x.copy()
        dt = t_s - self._t
        p = self.params
        scale = max(scale, 1e-6)
        restart = seen & ~np.all(np.isfinite(self._x), axis=-1)
        raw_dx = (points - self._x) / dt / scale
        a_d = _alpha(p.d_cutoff_hz, dt)
        dx = a_d * raw_dx + (1 - a_d) * self._dx
        speed = np.linalg.norm(dx, axis=-1, keepdims=True)
        a = _alpha(p.min_cutoff_hz + p.beta * speed, dt)
        x = a * points + (1 - a) * self._x
        x = np.where(restart[:, None], points, x)
        dx = np.where(restart[:, None], 0.0, dx)
        # Unseen landmarks hold their value for a short gap, then go missing.
        held = ~seen & (t_s - self._t_seen <= self.max_gap_s)
        x = np.where(seen[:, None], x, np.where(held[:, None], self._x, np.nan))
        dx = np.where(seen[:, None], dx, np.where(held[:, None], self._dx, 0.0))
        self._x, self._dx, self._t = x, dx, t_s
        self._t_seen = np.where(seen, t_s, self._t_seen)
        return x.copy()


def bridge_gaps(t_s: np.ndarray, values: np.ndarray, max_gap_s: float = MAX_GAP_S, *, copy: bool = True) -> np.ndarray:
    """Linearly interpolate NaN runs no longer than `max_gap_s` along axis 0; longer runs stay NaN.

    `copy=False` works in place on a float64 array (the report pass: one copy of a long session).
    """
    out = _float64(values, copy)
    flat = out.reshape(len(out), -1)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = np.isfinite(col)
        if ok.all() or ok.sum() < 2:
            continue
        idx = np.flatnonzero(ok)
        filled = np.interp(t_s, t_s[idx], col[idx])
        # Which missing samples sit in a short interior gap?
        nxt = np.searchsorted(idx, np.arange(len(col)))
        interior = (~ok) & (nxt > 0) & (nxt < len(idx))
        prev_t = t_s[idx[np.clip(nxt - 1, 0, len(idx) - 1)]]
        next_t = t_s[idx[np.clip(nxt, 0, len(idx) - 1)]]
        short = interior & (next_t - prev_t <= max_gap_s + 1e-9)
        col[short] = filled[short]
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index runs where mask is True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


# Hampel filter: half window and threshold. The median ignores a jump shorter than the half
# window (0.25 s: 8 frames at 30 fps; the model's jumps seen so far last up to 5, RESULTS.md
# Speed), and the whole window (0.5 s) is shorter than a rep's turn.
DESPIKE_HALF_WINDOW_S = 0.25
DESPIKE_SIGMAS = 3.0


def despike(values: np.ndarray, fs: float, half_window_s: float = DESPIKE_HALF_WINDOW_S, sigmas: float = DESPIKE_SIGMAS) -> np.ndarray:
    """Hampel filter along time: a sample further than `sigmas` robust standard deviations
    (1.4826 x MAD) from the median of its window is replaced by that median.

    The pose model now and then shifts a body part by tens of pixels for a few frames and
    back; a low-pass filter spreads such a jump into the frames around it (and into a peak
    FPPA), a Hampel filter removes it. Trends and smooth peaks pass: their distance from the
    window median is small against the window's own spread. NaN samples are skipped.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    k = max(2, int(round(half_window_s * fs)))
    n = len(out)
    if n < 2 * k + 1:
        return out
    flat = out.reshape(n, -1)
    # Edges: the window is mirrored rather than cut short, so every window has 2k + 1 samples.
    # A contiguous copy and a partition at k: about 3x faster than np.median on the view.
    windows = np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(np.pad(flat, ((k, k), (0, 0)), mode="reflect"), 2 * k + 1, axis=0)
    )
    median = np.partition(windows, k, axis=-1)[..., k]
    deviation = np.abs(windows - median[..., None])
    mad = np.partition(deviation, k, axis=-1)[..., k]
    holed = np.isnan(windows).any(axis=-1) & np.isfinite(flat)
    if holed.any():  # windows reaching into a gap (few): the same without the missing samples
        rows, cols = np.nonzero(holed)
        w = windows[rows, cols]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median[rows, cols] = m = np.nanmedian(w, axis=-1)
            mad[rows, cols] = np.nanmedian(np.abs(w - m[:, None]), axis=-1)
    spike = np.abs(flat - median) > sigmas * 1.4826 * mad  # False where a sample is NaN
    flat[spike] = median[spike]
    return out


def zero_phase_lowpass(
    t_s: np.ndarray, values: np.ndarray, cutoff_hz: float = 6.0, order: int = 4, *, copy: bool = True, fs: float | None = None
) -> np.ndarray:
    """4th-order Butterworth, forward and backward (no lag), over each run of finite samples.

    The sample rate is taken from the median frame interval; with frame rates too low for the
    cutoff (e.g. 10 fps) the cutoff is lowered to 0.8 of Nyquist. Runs too short for the filter's
    padding are returned unfiltered rather than distorted. `copy=False` filters a float64 array in
    place; `fs` gives the sample rate when `t_s` is only a part of the clip (`sample_rate`).
    """
    from scipy.signal import (  # imported when the report pass needs it (start-up time)
        butter,
        filtfilt,
    )

    out = _float64(values, copy)
    if len(t_s) < 3:
        return out
    fs = sample_rate(t_s) if fs is None else fs
    b, a = butter(order, min(cutoff_hz / (fs / 2.0), 0.8))
    padlen = filter_padding(order)
    flat = out.reshape(len(out), -1)
    # Columns that are missing on the same frames (x and y of a landmark, usually all of them)
    # are filtered together, one filtfilt call per run of frames.
    finite = np.isfinite(flat)
    groups: dict[bytes, list[int]] = {}
    for j in range(flat.shape[1]):
        groups.setdefault(np.packbits(finite[:, j]).tobytes(), []).append(j)
    for group in groups.values():
        # A few columns per call: filtfilt makes several padded copies of what it is given.
        for k in range(0, len(group), _FILTER_COLUMNS):
            cols = group[k : k + _FILTER_COLUMNS]
            for start, stop in _runs(finite[:, cols[0]]):
                if stop - start > padlen:
                    flat[start:stop, cols] = filtfilt(b, a, flat[start:stop, cols], axis=0)
    return out


_FILTER_COLUMNS = 6


def sample_rate(t_s: np.ndarray) -> float:
    """Frames per second of a clip, from its median frame interval."""
    return 1.0 / float(np.median(np.diff(t_s)))


def filter_padding(order: int = 4) -> int:
    """Samples filtfilt pads a run with (its default, 3 x the filter's length)."""
    return 3 * (order + 1)


def _float64(values: np.ndarray, copy: bool) -> np.ndarray:
    if not copy and isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    return np.array(values, dtype=np.float64, copy=True)


_LEFT_LEG = [a for a, _ in LEG_SWAP_PAIRS]
_RIGHT_LEG = [b for _, b in LEG_SWAP_PAIRS]


def leg_swap_detected(prev: np.ndarray | None, points: np.ndarray, ratio: float = 0.5) -> bool:
    """Whether the model exchanged the two legs since the previous frame.

    BlazePose sometimes swaps the knees/ankles/feet of the two legs for a few frames while the
    hips stay put. If exchanging them back brings the legs much closer to the previous frame's
    (cost under `ratio` of leaving them), it is a swap.
    """
    if prev is None:
        return False
    l, r = _LEFT_LEG, _RIGHT_LEG
    keep = np.nansum(np.linalg.norm(points[l] - prev[l], axis=-1) + np.linalg.norm(points[r] - prev[r], axis=-1))
    swap = np.nansum(np.linalg.norm(points[r] - prev[l], axis=-1) + np.linalg.norm(points[l] - prev[r], axis=-1))
    return bool(swap < ratio * keep)


def swap_legs(values: np.ndarray) -> np.ndarray:
    """Exchange the lower-leg landmarks of the two legs along the first (landmark) axis."""
    out = values.copy()
    out[_LEFT_LEG], out[_RIGHT_LEG] = values[_RIGHT_LEG], values[_LEFT_LEG]
    return out


# Whole-clip leg labelling (report pass). The frame-to-frame guard above only compares each frame
# with the one before: when it misses the model swapping the legs (or swapping them back), every
# later frame inherits the wrong labels until the next miss. Over a whole recording the labels can
# instead be chosen for all frames at once, as the cheapest path through two states per frame (as
# the model labelled it, or exchanged):
# - continuity: the labelled knees, ankles and feet move little from one frame to the next, so
#   a labelling that makes them jump by the distance between the legs is expensive;
# - the model is right most of the time: exchanging a frame against its labels costs a little;
# - while the body faces the camera (yaw from the world hip and shoulder lines), legs whose knees
#   and ankles lie across each other from the hips are a mislabelling. Turned further, a long
#   forward step really does cross the legs in the image (measured on the synthetic lunges at 30
#   degrees), so the cue fades out between `CROSS_YAW_DEG`.
SWAP_PRIOR = 0.02  # torso lengths: cost of exchanging one frame against the model's labels
CROSS_COST = 0.5  # torso lengths per frame: cost of legs crossed under the hips while facing the camera
CROSS_YAW_DEG = (10.0, 25.0)  # the crossing cue counts fully under the first yaw, not at all past the second
CHAIN_GAP_S = 0.5  # frames further apart than this are not compared (the person was lost)


def torso_px(image_xy: np.ndarray) -> np.ndarray:
    """Per-frame shoulder-to-hip distance in the image (the leg landmarks' yardstick), NaN unknown."""
    from formcheck.core.landmarks import PoseLandmark as P

    sh = (image_xy[:, P.LEFT_SHOULDER] + image_xy[:, P.RIGHT_SHOULDER]) / 2
    hp = (image_xy[:, P.LEFT_HIP] + image_xy[:, P.RIGHT_HIP]) / 2
    return np.linalg.norm(sh - hp, axis=-1)


def _crossing(image_xy: np.ndarray) -> np.ndarray:
    """Per frame: how far the knees and ankles lie across each other from the hips, in hip widths
    (positive: crossed as labelled, negative: crossed once exchanged), 0 where unknown."""
    from formcheck.core.landmarks import PoseLandmark as P

    x = image_xy[..., 0]
    hip = x[:, P.LEFT_HIP] - x[:, P.RIGHT_HIP]
    legs = (x[:, P.LEFT_KNEE] - x[:, P.RIGHT_KNEE] + x[:, P.LEFT_ANKLE] - x[:, P.RIGHT_ANKLE]) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.clip(-legs / hip, -1.0, 1.0)
    return np.where(np.isfinite(c), c, 0.0)


def leg_label_scale(torso: np.ndarray) -> float:
    """The leg labelling's yardstick: the median of a clip's `torso_px` (pixels), 1 if unknown."""
    return float(np.nanmedian(torso)) if np.isfinite(torso).any() else 1.0


class LegLabeller:
    """The whole-clip leg labelling (see the comment above) fed one chunk of frames at a time.

    The Viterbi pass needs only the two running costs, the last present frame's legs and one
    pair of back-pointers per frame (3 bytes), so a long session's labels are chosen from its
    recording chunk by chunk, never holding its landmarks. `scale` is the clip's
    `leg_label_scale`; chunks must come in frame order without overlap.
    """

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._cost: np.ndarray | None = None
        self._last: tuple[np.ndarray, np.ndarray, float] | None = None  # left, right, t of the last present frame
        self._present: list[np.ndarray] = []  # bool per frame, per chunk
        self._back: list[np.ndarray] = []  # int8 (present frames, 2), per chunk

    def feed(self, t_s: np.ndarray, image_xy: np.ndarray, world_xyz: np.ndarray, visibility: np.ndarray) -> None:
        from formcheck.core.geometry import body_yaw_deg

        seen = np.where((visibility >= VISIBILITY_GATE)[..., None], image_xy, np.nan)
        left, right = seen[:, _LEFT_LEG], seen[:, _RIGHT_LEG]  # (N, 4, 2)
        present_mask = np.isfinite(left).all(-1).any(-1) | np.isfinite(right).all(-1).any(-1)
        present = np.flatnonzero(present_mask)
        back = np.zeros((present.size, 2), dtype=np.int8)
        self._present.append(present_mask)
        self._back.append(back)
        if present.size == 0:
            return
        # Unary costs: [as labelled, exchanged].
        yaw = body_yaw_deg(world_xyz[present])
        lo, hi = CROSS_YAW_DEG
        facing = np.clip((hi - np.where(np.isfinite(yaw), yaw, 90.0)) / (hi - lo), 0.0, 1.0)
        cross = _crossing(image_xy[present]) * facing * CROSS_COST
        unary = np.stack([np.maximum(cross, 0.0), np.maximum(-cross, 0.0) + SWAP_PRIOR], axis=1)
        # Pairwise: distance of each leg's landmarks from the previous present frame's, same or
        # exchanged; the previous frame of this chunk's first is the last one fed before.
        lft, rgt, t = left[present], right[present], t_s[present]
        if self._last is not None:
            lft = np.concatenate([self._last[0][None], lft])
            rgt = np.concatenate([self._last[1][None], rgt])
            t = np.concatenate([[self._last[2]], t])

        def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.linalg.norm(a - b, axis=-1)  # (M, 4)

        same = dist(lft[1:], lft[:-1]) + dist(rgt[1:], rgt[:-1])
        other = dist(lft[1:], rgt[:-1]) + dist(rgt[1:], lft[:-1])
        both = np.isfinite(same) & np.isfinite(other)
        same = np.where(both, same, 0.0).sum(-1) / self.scale
        other = np.where(both, other, 0.0).sum(-1) / self.scale
        near = np.diff(t) <= CHAIN_GAP_S
        same, other = np.where(near, same, 0.0), np.where(near, other, 0.0)
        # Viterbi over the present frames.
        k0 = 0
        if self._cost is None:
            cost = unary[0].copy()
            k0 = 1
        else:
            cost = self._cost
        pair = -1 if self._last is None else 0  # index into same/other for frame k: k + pair
        for k in range(k0, present.size):
            stay, change = same[k + pair], other[k + pair]
            from_keep = (cost[0] + stay, cost[1] + change)  # into state 0 from 0 / from 1
            from_swap = (cost[0] + change, cost[1] + stay)  # into state 1 from 0 / from 1
            b0, b1 = int(from_keep[1] < from_keep[0]), int(from_swap[1] < from_swap[0])
            back[k] = (b0, b1)
            cost = np.array((from_keep[b0], from_swap[b1])) + unary[k]
        self._cost = cost
        self._last = (left[present[-1]], right[present[-1]], float(t_s[present[-1]]))

    def finish(self) -> np.ndarray:
        """Which frames' leg landmarks to exchange (bool per frame fed)."""
        present_mask = np.concatenate(self._present) if self._present else np.zeros(0, dtype=bool)
        swap = np.zeros(len(present_mask), dtype=bool)
        present = np.flatnonzero(present_mask)
        if present.size < 2 or self._cost is None:
            return swap
        back = np.concatenate(self._back)
        state = int(self._cost[1] < self._cost[0])
        for k in range(present.size - 1, -1, -1):
            swap[present[k]] = bool(state)
            state = int(back[k, state])
        return swap


def whole_clip_leg_swaps(t_s: np.ndarray, image_xy: np.ndarray, world_xyz: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """Which frames' leg landmarks to exchange (bool per frame) for the most consistent labelling
    of the whole clip (see the comment above). Pure: (N, 33, 2), (N, 33, 3), (N, 33) arrays in."""
    labeller = LegLabeller(leg_label_scale(torso_px(image_xy)))
    labeller.feed(t_s, image_xy, world_xyz, visibility)
    return labeller.finish()


def swap_legs_where(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """`swap_legs` on the frames marked in the bool array `frames` (landmarks on axis 1), in place."""
    if frames.any():
        perm = np.arange(values.shape[1])
        perm[_LEFT_LEG], perm[_RIGHT_LEG] = _RIGHT_LEG, _LEFT_LEG
        values[frames] = values[frames][:, perm]
    return values
