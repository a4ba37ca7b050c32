"""The report pass: from a session's raw landmarks to the numbers in summary.json and frames.csv.

Runs after the stream ends (or is interrupted), on everything recorded so far: visibility gate,
short gaps bridged, zero-phase Butterworth (no lag, no blunted peaks), then the same metrics,
tracker and scoring code as the live path. The landmarks are read back from the Recording in
chunks, so what the pass holds for the whole session is its metrics (about 0.3 kB a frame), not
its landmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from formcheck.config import Config
from formcheck.errors import InputError
from formcheck.exercise_detect import UNSURE, Detection, detect_exercise
from formcheck.landmarks import SIDES, Side
from formcheck.metrics import VIEW_CODES, Metrics, View, compute_metrics
from formcheck.recording import Recording
from formcheck.scoring import Baseline, HoldScore, RepScore, compute_baseline, fppa_usable, loaded_mask, score_hold, score_rep
from formcheck.smoothing import (
    MAX_GAP_S,
    VISIBILITY_GATE,
    LegLabeller,
    torso_px,
    bridge_gaps,
    filter_padding,
    sample_rate,
    swap_legs_where,
    zero_phase_lowpass,
)
from formcheck.sources import SourceInfo
from formcheck.trackers import Phase, RepCompleted, RepRejected, tracker_class

# Recording advice from DOMAIN.md, checked against the source.
MIN_FPS = 25.0
MIN_PERSON_HEIGHT_FRACTION = 0.4

PHASES = tuple(Phase)
_PHASE_CODE = {p: i for i, p in enumerate(PHASES)}


@dataclass
class SessionResult:
    exercise: str
    source: SourceInfo
    partial: bool
    frame_index: np.ndarray
    metrics: Metrics  # zero-phase, whole clip
    fppa_usable: dict  # Side -> bool array
    rep_of_frame: np.ndarray  # int, 0 = not in a rep
    loaded: np.ndarray  # bool: in the loaded half of a rep (where knee-against-foot is read)
    phase_of_frame: np.ndarray  # int8, index into PHASES
    cue_of_frame: np.ndarray  # int16, index into cue_texts
    cue_texts: list[str]
    reps: list[RepScore]
    holds: list[HoldScore]
    baseline: Baseline
    view: View
    pose_coverage: float
    warnings: list[str] = field(default_factory=list)
    detection: Detection | None = None  # --exercise auto: what was recognised
    rejected: list[RepRejected] = field(default_factory=list)
    cue_count: int = 0


# The report pass reads the recording in chunks of CHUNK_FRAMES, each smoothed with OVERLAP_S of
# its neighbours on both sides and kept only in its own frames. Within that overlap the zero-phase
# filter's start-up transient at a chunk's cut has died out (its slowest pole decays over the
# overlap by a factor of 1e-8 or less from 24 to 240 fps, 1e-6 at 10 fps, where the overlap is
# 60 frames) and short gaps (MAX_GAP_S) bridge across the cut, so the numbers are those of
# filtering the whole clip at once (tests/test_report_pass.py), while memory holds a chunk of
# landmarks, not the session's.
CHUNK_FRAMES = 2048
OVERLAP_S = 2.0


def _spans(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def leg_swaps(rec: Recording) -> np.ndarray:
    """Which frames' legs to exchange, chosen for the whole clip (smoothing.LegLabeller), read
    from the recording in chunks."""
    torso = np.concatenate([torso_px(rec.read(lo, hi)["image_xy"]) for lo, hi in _spans(len(rec), CHUNK_FRAMES)])
    labeller = LegLabeller(float(np.nanmedian(torso)) if np.isfinite(torso).any() else 1.0)
    for lo, hi in _spans(len(rec), CHUNK_FRAMES):
        r = rec.read(lo, hi)
        labeller.feed(r["t_s"], r["image_xy"], r["world_xyz"], r["visibility"])
    return labeller.finish()


def smoothed_chunks(rec: Recording, t_s: np.ndarray, swapped: np.ndarray) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(first frame, end frame, image_xy, world_xyz) of the report pass's landmarks, chunk by chunk:
    the chosen leg labels, visibility gate, short gaps bridged, zero-phase filter (float64)."""
    n = len(rec)
    fs = sample_rate(t_s) if n >= 2 else 30.0
    overlap = max(int(np.ceil(OVERLAP_S * fs)), 4 * filter_padding())
    for lo, hi in _spans(n, CHUNK_FRAMES):
        a, b = max(0, lo - overlap), min(n, hi + overlap)
        r = rec.read(a, b)
        t, swap = t_s[a:b], swapped[a:b]
        unseen = swap_legs_where(r["visibility"], swap) < VISIBILITY_GATE

        def smoothed(name: str) -> np.ndarray:
            points = swap_legs_where(r[name].astype(np.float64), swap)
            points[unseen] = np.nan  # MediaPipe places unseen joints anyway
            out = zero_phase_lowpass(t, bridge_gaps(t, points, MAX_GAP_S, copy=False), copy=False, fs=fs)
            return out[lo - a : hi - a]

        yield lo, hi, smoothed("image_xy"), smoothed("world_xyz")


def _person_height_px(xy: np.ndarray) -> np.ndarray:
    """Per frame, the landmarks' vertical extent (NaN without landmarks)."""
    y = xy[..., 1]
    seen = np.isfinite(y).any(axis=-1)
    out = np.full(len(y), np.nan)
    out[seen] = np.nanmax(y[seen], axis=-1) - np.nanmin(y[seen], axis=-1)
    return out


def report_metrics(rec: Recording, config: Config) -> tuple[Metrics, np.ndarray, np.ndarray]:
    """(metrics, person height in pixels, swapped legs) for every frame of the recording, from the
    zero-phase smoothed landmarks, computed chunk by chunk."""
    t = rec.t_s
    swapped = leg_swaps(rec)
    heights = np.full(len(t), np.nan)
    m: Metrics | None = None
    for lo, hi, xy, world in smoothed_chunks(rec, t, swapped):
        part = compute_metrics(t[lo:hi], xy, world, config.thresholds.frontal_max_yaw_deg)
        if m is None:
            m = part.allocate(len(t))
        m.put(lo, part)
        heights[lo:hi] = _person_height_px(xy)
    assert m is not None  # callers check for an empty recording
    return m, heights, swapped


def _majority_view(m: Metrics) -> View:
    codes = m.view[m.pose]
    if codes.size == 0:
        return View.UNKNOWN
    counts = np.bincount(codes.astype(int), minlength=len(VIEW_CODES))
    return VIEW_CODES[int(np.argmax(counts))]


def summarize(
    rec: Recording,
    exercise: str,
    config: Config,
    source: SourceInfo,
    *,
    partial: bool = False,
    extra_warnings: list[str] | None = None,
    side: Side | None = None,
) -> SessionResult:
    if len(rec) == 0:
        raise InputError(f"no frames could be read from {source.name}")
    m, heights, swapped = report_metrics(rec, config)
    t = m.t_s
    th = config.thresholds
    people = rec.people
    coverage = float(np.mean(people > 0))
    if not partial and coverage == 0.0:
        raise InputError(f"no person found in {source.name}: film the whole body, well lit, facing the camera")

    detection = None
    if exercise == "auto":
        detection = detect_exercise(m)
        exercise = detection.name if detection.name != UNSURE else "auto"
    tracker = tracker_class(exercise)(side, config.trackers)
    rep_of_frame = np.zeros(len(t), dtype=np.int32)
    phases = np.zeros(len(t), dtype=np.int8)  # index into PHASES
    rejected: list[RepRejected] = []
    for i in range(len(t)):
        for e in tracker.update(i, m.at(i)):
            if isinstance(e, RepCompleted):
                rep_of_frame[e.rep.start_i : e.rep.end_i + 1] = e.rep.index
            elif isinstance(e, RepRejected):
                rejected.append(e)
        phases[i] = _PHASE_CODE[tracker.state.phase]
    rejected += [e for e in tracker.finish() if isinstance(e, RepRejected)]

    reps = tracker.state.reps
    baseline = compute_baseline(m, reps)
    scores = [score_rep(m, r, baseline, th) for r in reps]
    holds = [score_hold(m, h, baseline, th) for h in tracker.state.holds]
    loaded = np.zeros(len(t), dtype=bool)
    for r in reps:
        loaded |= loaded_mask(m, r)
    for h in tracker.state.holds:
        loaded[h.start_i : h.end_i + 1] = True
        rep_of_frame[h.start_i : h.end_i + 1] = 0
    view = _majority_view(m)

    warnings = list(extra_warnings or [])
    if swapped.any():
        n = int(swapped.sum())
        warnings.append(f"the pose model swapped the legs on {n} frame{'s' if n != 1 else ''}; they were swapped back")
    if coverage < 0.9:
        warnings.append(f"a person was found in only {coverage:.0%} of frames: keep the whole body in frame")
    multi = float(np.mean(people >= 2))
    if multi > 0.1:
        warnings.append(f"more than one person in {multi:.0%} of frames: the person found first was followed; film one person at a time")
    if view is not View.FRONTAL:
        yaw = float(np.nanmedian(m.yaw_deg)) if np.isfinite(m.yaw_deg).any() else float("nan")
        about = f" (about {yaw:.0f} degrees)" if np.isfinite(yaw) else ""
        warnings.append(f"camera is {view.value}{about}: valgus is scored only in frontal views; face the camera")
    elif np.isfinite(m.yaw_deg).any() and np.nanmedian(m.yaw_deg[m.pose]) > 10:
        warnings.append(f"body turned about {np.nanmedian(m.yaw_deg[m.pose]):.0f} degrees from the camera: valgus may be misread")
    if source.fps and source.fps < MIN_FPS:
        warnings.append(f"video is {source.fps:.0f} fps: at least 30 fps is recommended for fast movements")
    heights = heights[m.pose & np.isfinite(heights)]
    if heights.size and np.median(heights) < MIN_PERSON_HEIGHT_FRACTION * source.height:
        warnings.append("the person is small in the frame: move the camera closer (2-3 m) for steadier angles")
    if baseline.frames == 0 and view is View.FRONTAL:
        warnings.append("no standing frames found: stand still facing the camera before the first rep for a baseline")
    if tracker.counts_holds:
        if not holds and not partial:
            warnings.append("no single-leg hold was found: lift one foot clear of the floor for at least a second")
    elif detection is not None and exercise == "auto":
        warnings.append("could not tell which exercise this is (" + "; ".join(detection.reasons) + "): run again with --exercise")
    elif not reps and not partial:
        warnings.append(f"no {exercise} reps were found")

    return SessionResult(
        exercise=exercise,
        source=source,
        partial=partial,
        frame_index=rec.column("frame_index"),
        metrics=m,
        fppa_usable={s: fppa_usable(m, s, baseline, th) for s in SIDES},
        rep_of_frame=rep_of_frame,
        loaded=loaded,
        phase_of_frame=phases,
        cue_of_frame=rec.column("cue"),
        cue_texts=list(rec.cue_texts),
        reps=scores,
        holds=holds,
        baseline=baseline,
        view=view,
        pose_coverage=coverage,
        warnings=warnings,
        rejected=rejected,
        cue_count=len(rec.cue_events),
        detection=detection,
    )
