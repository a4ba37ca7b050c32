"""The report pass: from a session's raw landmarks to the numbers in summary.json and frames.csv.

Runs after the stream ends (or is interrupted), on everything recorded so far: the zero-phase
metrics of `report_frames.ReportFrames` (visibility gate, short gaps bridged, Butterworth with no
lag and no blunted peaks), then the same tracker and scoring code as the live path. It walks the
recording in chunks and each rep in its own window, holding neither the session's landmarks nor
its metrics: what it keeps for every frame is a few small arrays (time, phase, the standing
baseline's inputs, yaw and person height; about 100 bytes a frame at most).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from formcheck.config import Config, Thresholds
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import VIEW_CODES, Metrics, View
from formcheck.errors import InputError
from formcheck.judging.scoring import (
    Baseline,
    HoldScore,
    RepScore,
    StandingInputs,
    StandingReference,
    compute_baseline,
    fppa_usable,
    knee_toe_change,
    loaded_mask,
    score_hold,
    score_rep,
)
from formcheck.media.recording import Recording
from formcheck.media.sources import SourceInfo
from formcheck.pipeline.exercise_detect import UNSURE, Detection, detect_exercise
from formcheck.pipeline.report_frames import FrameWindow, ReportFrames
from formcheck.trackers import Phase, RepRejected, tracker_class

# Recording advice from DOMAIN.md, checked against the source.
MIN_FPS = 25.0
MIN_PERSON_HEIGHT_FRACTION = 0.4

PHASES = tuple(Phase)
_PHASE_CODE = {p: i for i, p in enumerate(PHASES)}


@dataclass(frozen=True)
class FrameRows:
    """Everything the writers show of frames [lo, hi), already decided by the report pass:
    frames.csv and the report's plots only read these, they compute nothing."""

    lo: int
    hi: int
    frame_index: np.ndarray
    metrics: Metrics  # zero-phase metrics of these frames
    usable: dict[Side, np.ndarray]  # FPPA can be trusted here (scoring.fppa_usable)
    knee_toe_change: dict[Side, np.ndarray]  # knee-to-toe change from the standing baseline
    rep: np.ndarray  # rep index (0: none)
    phase: np.ndarray  # index into PHASES
    loaded: np.ndarray  # in the loaded half of a rep, or in a hold
    cue: np.ndarray  # index into the recording's cue texts
    feet_apart: np.ndarray  # band-walk: ankle separation in standing hip widths (NaN elsewhere)


@dataclass
class SessionResult:
    exercise: str
    source: SourceInfo
    partial: bool
    frames: ReportFrames  # zero-phase metrics of any window, from the recording
    thresholds: Thresholds
    phase_of_frame: np.ndarray  # int8, index into PHASES
    reps: list[RepScore]
    holds: list[HoldScore]
    baseline: Baseline
    view: View
    pose_coverage: float
    # Per rep and hold: (first frame, mask over its frames) of the loaded half, where the knee
    # is judged against the foot.
    loaded_windows: list[tuple[int, np.ndarray]] = field(default_factory=list)
    # Band side-shuffle: the ankle separation the band rule reads (standing hip widths), per frame.
    feet_apart_of_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    warnings: list[str] = field(default_factory=list)
    detection: Detection | None = None  # --exercise auto: what was recognised
    rejected: list[RepRejected] = field(default_factory=list)
    cue_count: int = 0

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    def chunks(self) -> Iterator[FrameWindow]:
        return self.frames.chunks()

    def rows(self) -> Iterator[FrameRows]:
        """The session's frames chunk by chunk, with what each writer shows of them."""
        for chunk in self.frames.chunks():
            m, lo, hi = chunk.metrics, chunk.lo, chunk.hi
            yield FrameRows(
                lo, hi, chunk.frame_index, m, self.fppa_usable(m), {s: knee_toe_change(m, s, self.baseline) for s in SIDES},
                self.rep_of_frame(lo, hi), self.phase_of_frame[lo:hi], self.loaded(lo, hi), chunk.cue,
                self.feet_apart_of_frame[lo:hi] if self.feet_apart_of_frame.size else np.full(hi - lo, np.nan),
            )  # fmt: skip

    def rep_of_frame(self, lo: int, hi: int) -> np.ndarray:
        """The rep each frame of [lo, hi) belongs to (0: none; balance holds are not reps)."""
        out = np.zeros(hi - lo, dtype=np.int32)
        for s in self.reps:
            r = s.rep
            out[max(r.start_i, lo) - lo : max(min(r.end_i + 1, hi) - lo, 0)] = r.index
        for h in self.holds:
            out[max(h.hold.start_i, lo) - lo : max(min(h.hold.end_i + 1, hi) - lo, 0)] = 0
        return out

    def loaded(self, lo: int, hi: int) -> np.ndarray:
        """Whether each frame of [lo, hi) is in the loaded half of a rep, or in a hold."""
        out = np.zeros(hi - lo, dtype=bool)
        for start, mask in self.loaded_windows:
            a, b = max(start, lo), min(start + len(mask), hi)
            if a < b:
                out[a - lo : b - lo] |= mask[a - start : b - start]
        return out

    def fppa_usable(self, m: Metrics) -> dict[Side, np.ndarray]:
        """Per leg, the frames of `m` whose FPPA can be trusted (scoring.fppa_usable)."""
        return {s: fppa_usable(m, s, self.baseline, self.thresholds) for s in SIDES}


def _in_window(window, start: int):  # noqa: ANN001, ANN202 - RepWindow or HoldWindow
    """The same rep or hold with its frame indices counted from `start`."""
    shifted = {k: getattr(window, k) - start for k in ("start_i", "bottom_i", "end_i") if hasattr(window, k)}
    return dataclasses.replace(window, **shifted)


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
    th = config.thresholds
    people = rec.people
    coverage = float(np.mean(people > 0))
    if not partial and coverage == 0.0:
        raise InputError(f"no person found in {source.name}: film the whole body, well lit, facing the camera")
    frames = ReportFrames(rec, th.frontal_max_yaw_deg, despike=exercise == "auto" or tracker_class(exercise).despike)
    n = len(frames)

    detection = None
    if exercise == "auto":
        # Hops are recognised by their flights, which the despiking filter flattens.
        flights = ReportFrames(rec, th.frontal_max_yaw_deg, despike=False)
        detection = detect_exercise(frames, flights=flights)
        exercise = detection.name if detection.name != UNSURE else "auto"
        if not tracker_class(exercise).despike:
            frames = flights
    tracker = tracker_class(exercise)(side, config.trackers)
    th = tracker.thresholds(th)
    phases = np.zeros(n, dtype=np.int8)  # index into PHASES
    apart = np.full(n, np.nan, dtype=np.float32)
    rejected: list[RepRejected] = []
    # What the whole-session statistics read of every frame, gathered while the tracker runs.
    standing: list[StandingInputs] = []
    pose = np.zeros(n, dtype=bool)
    view_codes = np.zeros(n, dtype=np.int8)
    yaw = np.full(n, np.nan, dtype=np.float32)
    heights = np.full(n, np.nan, dtype=np.float32)
    for w in frames.chunks():
        m = w.metrics
        for k in range(w.hi - w.lo):
            rejected += [e for e in tracker.update(w.lo + k, m.at(k)) if isinstance(e, RepRejected)]
            phases[w.lo + k] = _PHASE_CODE[tracker.state.phase]
            if tracker.state.feet_apart is not None:
                apart[w.lo + k] = tracker.state.feet_apart
        standing.append(StandingInputs.of(m))
        pose[w.lo : w.hi], view_codes[w.lo : w.hi] = m.pose, m.view
        yaw[w.lo : w.hi], heights[w.lo : w.hi] = m.yaw_deg, w.height_px
    ended = [e for e in tracker.finish() if isinstance(e, RepRejected)]
    if not partial:  # a run cut short says so itself (partial_reason), so its rep under way is not listed
        rejected += ended

    reps = tracker.state.reps
    standing_inputs = StandingInputs.concat(standing)
    baseline = compute_baseline(standing_inputs, reps)
    reference = StandingReference(standing_inputs, reps, baseline)
    del standing, standing_inputs
    # Each rep and hold is scored on its own frames' metrics; a rep's with a margin, since a peak
    # is a level held for `peak_hold_s` and may be held from before the rep's first frame.
    margin = int(np.ceil(th.peak_hold_s * frames.fs)) + 1
    windows = [(max(0, r.start_i - margin), min(n, r.end_i + 1 + margin)) for r in reps]
    windows += [(h.start_i, h.end_i + 1) for h in tracker.state.holds]
    scores: list[RepScore] = [None] * len(reps)  # type: ignore[list-item] - all filled below
    holds: list[HoldScore] = [None] * len(tracker.state.holds)  # type: ignore[list-item]
    loaded_windows: list[tuple[int, np.ndarray]] = [None] * len(windows)  # type: ignore[list-item]
    for j, wm in frames.metrics_of(windows):
        start = windows[j][0]
        if j < len(reps):
            local = _in_window(reps[j], start)
            scores[j] = dataclasses.replace(score_rep(wm, local, reference.before(reps[j].start_i), th), rep=reps[j])
            if not tracker.judges_valgus:  # no load on the knee: nothing judged, as in a side view
                scores[j] = dataclasses.replace(scores[j], verdict={}, basis=None)
            loaded_windows[j] = (start, loaded_mask(wm, local))
        else:
            hold = tracker.state.holds[j - len(reps)]
            holds[j - len(reps)] = dataclasses.replace(score_hold(wm, _in_window(hold, start), reference.before(hold.start_i), th), hold=hold)
            loaded_windows[j] = (start, np.ones(windows[j][1] - start, dtype=bool))
    view = _majority_view(view_codes[pose])
    swapped = frames.swapped
    yaw_pose = yaw[pose]

    warnings = list(extra_warnings or [])
    if swapped.any():
        swaps = int(swapped.sum())
        warnings.append(f"the pose model swapped the legs on {swaps} frame{'s' if swaps != 1 else ''}; they were swapped back")
    if coverage < 0.9:
        warnings.append(f"a person was found in only {coverage:.0%} of frames: keep the whole body in frame")
    multi = float(np.mean(people >= 2))
    if multi > 0.1:
        warnings.append(f"more than one person in {multi:.0%} of frames: the person found first was followed; film one person at a time")
    if tracker.side_view and view is View.FRONTAL:
        warnings.append("camera faces the person: this exercise's knee angle is read from the side; film it from the side")
    if tracker.judges_valgus:  # seated and lying work judges none, and is filmed from the side
        if view is not View.FRONTAL:
            typical = float(np.nanmedian(yaw)) if np.isfinite(yaw).any() else float("nan")
            about = f" (about {typical:.0f} degrees)" if np.isfinite(typical) else ""
            warnings.append(f"camera is {view.value}{about}: valgus is scored only in frontal views; face the camera")
        elif np.isfinite(yaw_pose).any() and np.nanmedian(yaw_pose) > 10:
            warnings.append(f"body turned about {np.nanmedian(yaw_pose):.0f} degrees from the camera: valgus may be misread")
    if source.fps and source.fps < MIN_FPS:
        warnings.append(f"video is {source.fps:.0f} fps: at least 30 fps is recommended for fast movements")
    heights = heights[pose & np.isfinite(heights)]
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
    warnings += _not_counted(rejected, everything=not reps)

    return SessionResult(
        exercise=exercise,
        source=source,
        partial=partial,
        frames=frames,
        thresholds=th,
        phase_of_frame=phases,
        feet_apart_of_frame=apart,
        reps=scores,
        holds=holds,
        baseline=baseline,
        view=view,
        pose_coverage=coverage,
        loaded_windows=loaded_windows,
        warnings=warnings,
        rejected=rejected,
        cue_count=len(rec.cue_events),
        detection=detection,
    )


def _not_counted(rejected: list[RepRejected], everything: bool) -> list[str]:
    """One line per reason a movement that looked like a rep was not counted, with how many;
    `everything`: the counter's filters too (no rep was counted: each is a candidate)."""
    reported = Counter(r.reason for r in rejected if r.reported or everything)
    return [f"{n} movement{'s' if n != 1 else ''} not counted: {reason}" for reason, n in reported.items()]


def _majority_view(codes: np.ndarray) -> View:
    """The most common view over the frames with a person."""
    if codes.size == 0:
        return View.UNKNOWN
    counts = np.bincount(codes.astype(int), minlength=len(VIEW_CODES))
    return VIEW_CODES[int(np.argmax(counts))]
