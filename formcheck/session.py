"""The report pass: from a session's raw landmarks to the numbers in summary.json and frames.csv.

Runs after the stream ends (or is interrupted), on everything recorded so far: visibility gate,
short gaps bridged, zero-phase Butterworth (no lag, no blunted peaks), then the same metrics,
tracker and scoring code as the live path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.config import Config
from formcheck.errors import InputError
from formcheck.exercise_detect import UNSURE, Detection, detect_exercise
from formcheck.landmarks import SIDES, Side
from formcheck.metrics import VIEW_CODES, Metrics, View, compute_metrics
from formcheck.pipeline import Recording
from formcheck.scoring import Baseline, HoldScore, RepScore, compute_baseline, fppa_usable, loaded_mask, score_hold, score_rep
from formcheck.smoothing import MAX_GAP_S, VISIBILITY_GATE, bridge_gaps, swap_legs_where, whole_clip_leg_swaps, zero_phase_lowpass
from formcheck.sources import SourceInfo
from formcheck.trackers import RepCompleted, RepRejected, tracker_class

# Recording advice from DOMAIN.md, checked against the source.
MIN_FPS = 25.0
MIN_PERSON_HEIGHT_FRACTION = 0.4


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
    phase_of_frame: list[str]
    cue_text: list[str]
    reps: list[RepScore]
    holds: list[HoldScore]
    baseline: Baseline
    view: View
    pose_coverage: float
    warnings: list[str] = field(default_factory=list)
    detection: Detection | None = None  # --exercise auto: what was recognised
    rejected: list[RepRejected] = field(default_factory=list)
    cue_count: int = 0


def smooth_recording(rec: Recording) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frame index, t_s, image_xy, world_xyz, people, legs swapped back) with the leg labels chosen
    for the whole clip (smoothing.whole_clip_leg_swaps), gating, gap bridging and zero-phase filter.

    One float64 copy of each landmark array, worked on in place: the report pass of a long session
    holds little more than its landmarks and metrics.
    """
    t = rec.t_s
    # The columns are read again for smoothing rather than kept: holding float64 copies of both
    # landmark arrays through the leg labelling raises this pass's peak by about 40% (tracemalloc).
    swapped = whole_clip_leg_swaps(t, rec.column("image_xy"), rec.column("world_xyz"), rec.column("visibility"))
    unseen = swap_legs_where(rec.column("visibility"), swapped) < VISIBILITY_GATE

    def smoothed(name: str) -> np.ndarray:
        points = swap_legs_where(rec.column(name).astype(np.float64), swapped)
        points[unseen] = np.nan  # MediaPipe places unseen joints anyway
        return zero_phase_lowpass(t, bridge_gaps(t, points, MAX_GAP_S, copy=False), copy=False)

    return rec.column("frame_index"), t, smoothed("image_xy"), smoothed("world_xyz"), rec.people, swapped


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
    idx, t, xy, world, people, swapped = smooth_recording(rec)
    th = config.thresholds
    m = compute_metrics(t, xy, world, th.frontal_max_yaw_deg)
    coverage = float(np.mean(np.asarray(rec.people) > 0))
    if not partial and coverage == 0.0:
        raise InputError(f"no person found in {source.name}: film the whole body, well lit, facing the camera")

    detection = None
    if exercise == "auto":
        detection = detect_exercise(m)
        exercise = detection.name if detection.name != UNSURE else "auto"
    tracker = tracker_class(exercise)(side, config.trackers)
    rep_of_frame = np.zeros(len(t), dtype=np.int64)
    phases: list[str] = []
    rejected: list[RepRejected] = []
    for i in range(len(t)):
        for e in tracker.update(i, m.at(i)):
            if isinstance(e, RepCompleted):
                rep_of_frame[e.rep.start_i : e.rep.end_i + 1] = e.rep.index
            elif isinstance(e, RepRejected):
                rejected.append(e)
        phases.append(tracker.state.phase.value)
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
    heights = (np.nanmax(xy[..., 1], axis=-1) - np.nanmin(xy[..., 1], axis=-1))[m.pose] if m.pose.any() else np.array([])
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
        frame_index=idx,
        metrics=m,
        fppa_usable={s: fppa_usable(m, s, baseline, th) for s in SIDES},
        rep_of_frame=rep_of_frame,
        loaded=loaded,
        phase_of_frame=phases,
        cue_text=list(rec.cue_text),
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
