"""Setup coaching before the first rep: framing, view, light, then a 3-second standing baseline.
Work read from the side (knee angles) asks to be filmed side-on instead, and takes no baseline.

A small state machine fed one analysed frame at a time. Each frame, the checks run in order and
the first that fails becomes the prompt; the baseline clock runs only while every earlier check
passes and the person stands tall and still, and restarts when they do not. Setup never blocks
counting: if a rep starts first, setup ends as skipped and the report pass takes its baseline
from the standing frames it finds (scoring.compute_baseline).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from formcheck.core.landmarks import LEG, SIDES, PoseLandmark, Side
from formcheck.core.metrics import VIEW_CODES, Metrics, View
from formcheck.core.pose_frame import PoseFrame
from formcheck.core.smoothing import VISIBILITY_GATE
from formcheck.judging.scoring import STANDING_MAX_FLEXION_DEG

BASELINE_S = 3.0
# Whole body: these must be seen and lie inside the frame (feet included, DOMAIN.md's capture advice).
BODY_POINTS = (
    PoseLandmark.NOSE,
    PoseLandmark.LEFT_SHOULDER, PoseLandmark.RIGHT_SHOULDER,
    PoseLandmark.LEFT_HIP, PoseLandmark.RIGHT_HIP,
    PoseLandmark.LEFT_KNEE, PoseLandmark.RIGHT_KNEE,
    PoseLandmark.LEFT_ANKLE, PoseLandmark.RIGHT_ANKLE,
    PoseLandmark.LEFT_HEEL, PoseLandmark.RIGHT_HEEL,
    PoseLandmark.LEFT_FOOT_INDEX, PoseLandmark.RIGHT_FOOT_INDEX,
)
EDGE_MARGIN = 0.01  # of the frame size: a joint on the border is usually cut off
MIN_HEIGHT_FRACTION = 0.4  # nose-to-heel against frame height (session.MIN_PERSON_HEIGHT_FRACTION)
MIN_BRIGHTNESS = 50.0  # mean grey level 0-255; BlazePose degrades quickly in dim rooms
STILL_MAX_DRIFT = 0.04  # mid-hip height and leg length may vary this much (of body size) while still


class Check(str, enum.Enum):
    BODY = "whole body in frame"
    VIEW = "facing the camera"
    SIDE_ON = "side-on to the camera"
    LIGHT = "enough light"
    BASELINE = "standing baseline"


class SetupState(str, enum.Enum):
    CHECKING = "checking"
    DONE = "done"
    SKIPPED = "skipped"  # a rep started before setup passed


@dataclass(frozen=True)
class SetupStatus:
    state: SetupState
    prompt: str | None  # what to tell the person now (None once done)
    passed: dict[Check, bool]
    baseline_progress_s: float
    baseline_fppa_deg: dict[Side, float | None] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state is SetupState.CHECKING


def brightness(image: np.ndarray) -> float:
    """Mean grey level (BT.601 luma of a BGR frame) over a grid of about 64 x 36 pixels: cheap at any size."""
    h, w = image.shape[:2]
    small = image[:: max(1, h // 36), :: max(1, w // 64)].astype(np.float32)
    grey = small @ np.array([0.114, 0.587, 0.299], np.float32) if small.ndim == 3 else small
    return float(grey.mean())


def framing_problem(pose: PoseFrame | None, side_on: bool = False) -> str | None:
    """Why the whole body is not usable in this frame, as a prompt; None when it is. `side_on`:
    seated or lying work filmed from the side, where the far leg may be hidden and the body may lie
    along the frame: the head and one whole leg must be seen, and the body's longer extent counts."""
    if pose is None:
        return "Step into the frame so the camera can see you"
    w, h = pose.image_size
    idx = np.array([int(p) for p in BODY_POINTS])
    xy, vis = pose.image_xy[idx], pose.visibility[idx]
    inside = (
        (xy[:, 0] >= EDGE_MARGIN * w) & (xy[:, 0] <= (1 - EDGE_MARGIN) * w)
        & (xy[:, 1] >= EDGE_MARGIN * h) & (xy[:, 1] <= (1 - EDGE_MARGIN) * h)
    )
    seen = (vis >= VISIBILITY_GATE) & inside & np.all(np.isfinite(xy), axis=1)
    needed = _side_on_needed(seen) if side_on else np.ones_like(seen)
    if not seen[needed].all():
        names = [BODY_POINTS[k] for k in np.flatnonzero(needed & ~seen)]
        if any("HEEL" in n.name or "FOOT" in n.name or "ANKLE" in n.name for n in names):
            return "Step back or tilt the camera down: your feet must be in the frame"
        if any(n.name == "NOSE" or "SHOULDER" in n.name for n in names):
            return "Step back or tilt the camera up: your head must be in the frame"
        return "Step back until your whole body is in the frame"
    pts = xy[needed]
    height = float(np.nanmax(pts[:, 1]) - np.nanmin(pts[:, 1]))
    if side_on:
        height = max(height, float(np.nanmax(pts[:, 0]) - np.nanmin(pts[:, 0])))
    if height < MIN_HEIGHT_FRACTION * h:
        return "Come closer: you are small in the frame (2-3 m from the camera is right)"
    return None


def _side_on_needed(seen: np.ndarray) -> np.ndarray:
    """Which of `BODY_POINTS` a side-on view needs: the nose, and the shoulder, hip, knee, ankle,
    heel and toes of the better-seen side."""
    sides = []
    for side in SIDES:
        leg = LEG[side]
        points = {leg.shoulder, leg.hip, leg.knee, leg.ankle, leg.heel, leg.toe}
        sides.append(np.array([p in points for p in BODY_POINTS]))
    best = max(sides, key=lambda side: int(seen[side].sum()))
    return best | np.array([p is PoseLandmark.NOSE for p in BODY_POINTS])


class SetupCheck:
    """Feed `update` each analysed frame until `status.state` is no longer CHECKING.

    An exercise that judges no valgus (seated or lying knee work) needs neither the frontal view
    nor the standing baseline: framing and light are its whole setup. One read from the side
    (`side_view`: knee angles, which the front view foreshortens) is also asked to turn side-on
    until the camera sees it from the side. `status.passed` lists only the checks made."""

    def __init__(self, baseline_s: float = BASELINE_S, min_brightness: float = MIN_BRIGHTNESS,
                 judges_valgus: bool = True, side_view: bool = False) -> None:
        self.baseline_s = baseline_s
        self.min_brightness = min_brightness
        self.judges_valgus = judges_valgus
        self.side_view = side_view
        if judges_valgus:
            self.checks: tuple[Check, ...] = (Check.BODY, Check.VIEW, Check.LIGHT, Check.BASELINE)
        else:
            self.checks = (Check.BODY, Check.SIDE_ON, Check.LIGHT) if side_view else (Check.BODY, Check.LIGHT)
        self._state = SetupState.CHECKING
        self._still_since: float | None = None
        self._ref: tuple[float, float, float] | None = None  # hip y, leg length, body size at the start of stillness
        self._fppa: dict[Side, list[float]] = {s: [] for s in SIDES}
        self._baseline: dict[Side, float | None] = {}
        self.status = SetupStatus(SetupState.CHECKING, "Step into the frame so the camera can see you", dict.fromkeys(self.checks, False), 0.0)

    def update(self, t_s: float, pose: PoseFrame | None, metrics: Metrics, image_brightness: float, rep_started: bool) -> SetupStatus:
        if self._state is not SetupState.CHECKING:
            return self.status
        if rep_started:
            self._state = SetupState.SKIPPED
            self.status = SetupStatus(SetupState.SKIPPED, None, self.status.passed, self.status.baseline_progress_s)
            return self.status
        passed = dict.fromkeys(self.checks, False)
        prompt = framing_problem(pose, side_on=not self.judges_valgus)
        passed[Check.BODY] = prompt is None
        passed[Check.LIGHT] = image_brightness >= self.min_brightness
        if self.judges_valgus:
            passed[Check.VIEW] = VIEW_CODES[int(metrics.view)] is View.FRONTAL
            if prompt is None and not passed[Check.VIEW]:
                prompt = "Turn to face the camera, toes pointing at it"
        elif self.side_view:
            passed[Check.SIDE_ON] = VIEW_CODES[int(metrics.view)] is View.SIDE
            if prompt is None and not passed[Check.SIDE_ON]:
                prompt = "Turn side-on to the camera, so that it sees your knee bend"
        if prompt is None and not passed[Check.LIGHT]:
            prompt = "Too dark: turn on a light or face a window"
        progress = 0.0
        if prompt is None and not self.judges_valgus:
            self._state = SetupState.DONE
        elif prompt is None:
            progress = self._standing(t_s, metrics)
            if progress >= self.baseline_s:
                passed[Check.BASELINE] = True
                self._state = SetupState.DONE
                self._baseline = {s: (float(np.median(v)) if v else None) for s, v in self._fppa.items()}
            else:
                left = self.baseline_s - progress
                prompt = f"Stand tall and still, facing the camera ({left:.0f} s)" if progress > 0 else "Stand tall and still, facing the camera"
        else:
            self._reset_still()
        self.status = SetupStatus(self._state, prompt, passed, min(progress, self.baseline_s), dict(self._baseline))
        return self.status

    def _reset_still(self) -> None:
        self._still_since = None
        self._ref = None
        self._fppa = {s: [] for s in SIDES}

    def _standing(self, t_s: float, m: Metrics) -> float:
        """Seconds the person has stood tall and still so far (0 when they just moved)."""
        flex = [float(m.leg(s).flexion_deg) for s in SIDES]
        hip_y = float(np.nanmean([float(m.leg(s).hip_y) for s in SIDES]))
        leg = float(np.nanmean([float(m.leg(s).hip_ankle_px) for s in SIDES]))
        body = float(m.body_px)
        tall = all(math.isfinite(f) and f <= STANDING_MAX_FLEXION_DEG for f in flex)
        if not (tall and math.isfinite(hip_y) and math.isfinite(leg) and body > 0):
            self._reset_still()
            return 0.0
        if self._ref is not None:
            ref_y, ref_leg, ref_body = self._ref
            if abs(hip_y - ref_y) > STILL_MAX_DRIFT * ref_body or abs(leg - ref_leg) > STILL_MAX_DRIFT * ref_body:
                self._reset_still()
        if self._ref is None:
            self._ref = (hip_y, leg, body)
            self._still_since = t_s
        for s in SIDES:
            v = float(m.leg(s).fppa_deg)
            if math.isfinite(v):
                self._fppa[s].append(v)
        return t_s - (self._still_since if self._still_since is not None else t_s)
