"""Scripted exercise motion: a 3D skeleton per frame for every exercise formcheck watches.

A script is a list of key poses in time (where the pelvis and each foot are, trunk lean, foot
pitch); between keys everything eases with a minimum-jerk ramp. Knees and elbows come from
two-bone inverse kinematics (formcheck.synth.kinematics), so knee flexion is whatever the bone
lengths make of the hip-to-ankle distance: a real angle, not a label. Planted feet are the same
point in every key, so they stay planted. The pelvis height for a wanted flexion comes from a
sagittal model in which the knee travels forward and the hips back and down.

The medial knee shift of a rep (metres, per leg) is a rotation of the knee about its hip-ankle
axis toward the midline, ramped with the leg's flexion within the rep (0 when standing, full at
the deepest point). Hip, ankle and flexion are untouched by it.

Rep windows: start = the first frame of the rep's motion, end = the frame the person is back to
standing, bottom = the frame of deepest knee flexion (mean over the working legs) within the
loaded part of the rep (step-ups also flex the knee while lifting the foot onto the box; that
swing is not the bottom).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.core.geometry import knee_flexion_deg
from formcheck.core.landmarks import SIDES, Side
from formcheck.synth.body import FORWARD, LEFT, NUM_JOINTS, UP, BodyShape, J, body_frame, lateral_sign, side_joint
from formcheck.synth.kinematics import (
    apply_medial_shift,
    foot_points,
    hip_to_ankle_distance,
    sagittal_hip_offset,
    smoothstep,
    two_bone,
    unit,
)

EXERCISES: tuple[str, ...] = ("squat", "lunge", "step-down", "step-up", "single-leg-squat", "side-lunge", "balance")

STANDING_FLEXION_DEG = 4.0  # a "straight" standing knee is never locked at exactly 0


@dataclass(frozen=True)
class MotionParams:
    """What a clip's person does. Shifts are given per rep as {leg: metres}, missing = 0."""

    exercise: str = "squat"
    reps: int = 5
    depth_deg: float = 80.0  # knee flexion of the working leg(s) at the bottom
    tempo_s: float = 2.6  # one rep, start to end
    rest_s: float = 0.8
    lead_in_s: float = 2.0  # standing still first, for a baseline
    tail_s: float = 1.0
    working_leg: Side = Side.RIGHT
    alternate: bool = False  # lunges and side lunges: switch legs each rep
    medial_shift_m: tuple[dict, ...] = ()
    stance_width_m: float = 0.34  # ankle to ankle, squats
    toe_out_deg: float = 7.0
    step_height_m: float = 0.17
    hold_s: float = 8.0  # balance
    touchdowns_s: tuple[float, ...] = (4.0,)  # balance, seconds into the hold
    sway_m: float = 0.012  # balance
    arms: str = "hips"  # hips | sides | forward | out
    fps: float = 30.0
    # knee-rom (seated knee extension): the working knee's fullest extension per rep (cycled);
    # the knees rest at `depth_deg` between reps
    extension_deg: tuple[float, ...] = (10.0,)
    extension_hold_s: float = 0.0  # and holds it there this much longer (a knee extension's 5 s hold)
    # band-walk, side-push: how far the leading foot steps out (metres), and the steps whose
    # trailing foot closes in to `narrow_gap_m` of the other (the band gone slack)
    step_m: float = 0.30
    narrow_steps: tuple[int, ...] = ()
    narrow_gap_m: float = 0.09
    # adduction-slide: how far the straight leg's foot slides in (metres) and the bent knee's
    # flexion with the foot in (the body rises as the foot comes in; `depth_deg` with it out)
    slide_m: float = 0.30
    slide_in_deg: float = 25.0
    # pivot: how far the body turns away from the planted foot (degrees) and the knee's flexion as
    # the foot lands (the plant; it then loads to `depth_deg`)
    turn_deg: float = 60.0
    plant_deg: float = 25.0
    # balance progressions: the stance heel raised by this toe-down pitch through the hold (tiptoes;
    # 0 flat), head turns of `head_turn_deg` starting these seconds into the hold (alternately to
    # the person's left and right), and the free leg reaching `reach_deg` out to its side from
    # these seconds into the hold
    tiptoe_deg: float = 0.0
    head_turns_s: tuple[float, ...] = ()
    head_turn_deg: float = 60.0
    reaches_s: tuple[float, ...] = ()
    reach_deg: float = 40.0
    # hop: how far each hop travels forward (metres; the way the person faces), alternately
    # forward and back over a line (0: hops on the spot); with `hop_sideways`, to the person's
    # left and back right instead (side-to-side hops over a line)
    hop_travel_m: float = 0.0
    hop_sideways: bool = False
    hop_single_leg: bool = False  # hop on `working_leg`, the other foot held up behind

    def shift(self, rep: int, leg: Side) -> float:
        if rep < len(self.medial_shift_m):
            return float(self.medial_shift_m[rep].get(leg.value, 0.0))
        return 0.0

    def leg_for(self, rep: int) -> Side:
        if self.alternate and rep % 2 == 1:
            return self.working_leg.other
        return self.working_leg


@dataclass
class Pose:
    """A key pose: pelvis (hip-joint midpoint), trunk lean forward, and each foot."""

    pelvis: np.ndarray
    ankle: dict[Side, np.ndarray]
    pitch_deg: dict[Side, float] = field(default_factory=lambda: {Side.LEFT: 0.0, Side.RIGHT: 0.0})
    lean_deg: float = 0.0
    turn_deg: float = 0.0  # pelvis and trunk turned about the vertical, + to the person's left (pivots)
    head_deg: float = 0.0  # the head turned from the trunk about the vertical, + to the person's left

    def copy(self, **kw) -> "Pose":
        p = Pose(self.pelvis.copy(), {s: a.copy() for s, a in self.ankle.items()}, dict(self.pitch_deg), self.lean_deg,
                 self.turn_deg, self.head_deg)
        for k, v in kw.items():
            setattr(p, k, v)
        return p


@dataclass
class RepScript:
    index: int
    t_start: float
    t_end: float
    legs: tuple[Side, ...]
    shift_m: dict[Side, float]
    loaded: tuple[float, float]
    # A shift held over time (in, full, full until, out; seconds) rather than ramped with flexion:
    # sideways steps keep their knees bent throughout and cave at push-off
    shift_times: tuple[float, float, float, float] | None = None
    direction: Side | None = None  # sideways steps: the way the person stepped


@dataclass
class Box:
    """A step or box on the floor: centre of its footprint (x, z), size (width x, height y, depth z)."""

    x: float
    z: float
    width: float
    height: float
    depth: float


@dataclass
class Rep:
    index: int
    start_frame: int
    bottom_frame: int
    end_frame: int
    legs: tuple[Side, ...]
    medial_shift_m: dict[Side, float]  # actual 3D medial knee displacement at the bottom
    direction: Side | None = None  # sideways steps: the way the person stepped (the leading foot's side)


@dataclass
class Hold:
    leg: Side
    start_s: float
    end_s: float
    touchdowns: list[float]
    tiptoe_deg: float = 0.0  # the stance heel's toe-down pitch through the hold (0: flat)
    head_turns: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end s, degrees)
    reaches: list[tuple[float, float]] = field(default_factory=list)  # the free leg's (start, end s)


@dataclass
class Motion:
    params: MotionParams
    body: BodyShape
    t_s: np.ndarray  # (T,)
    joints: np.ndarray  # (T, NUM_JOINTS, 3) metres, world frame of formcheck.synth.body
    flexion_deg: dict[Side, np.ndarray]
    reps: list[Rep]
    holds: list[Hold]
    boxes: list[Box]


class _Script:
    """Collects key poses and rep windows while an exercise is written out."""

    def __init__(self, params: MotionParams, body: BodyShape) -> None:
        self.p = params
        self.b = body
        self.keys: list[tuple[float, Pose]] = []
        self.reps: list[RepScript] = []
        self.holds: list[Hold] = []
        self.boxes: list[Box] = []
        self.sway: tuple[float, float, Side] | None = None
        self.t = 0.0

    # -- poses -----------------------------------------------------------------------------
    def hip_x(self, pelvis_x: float, side: Side) -> float:
        return pelvis_x + lateral_sign(side) * self.b.hip_width / 2

    def pelvis_for(self, ankle: np.ndarray, side: Side, flexion: float, pelvis_x: float, share: float = 0.4) -> np.ndarray:
        """Pelvis that gives `side`'s planted leg this knee flexion, hips back as it bends."""
        d = hip_to_ankle_distance(flexion, self.b.thigh, self.b.shank)
        fz, _ = sagittal_hip_offset(flexion, self.b.thigh, self.b.shank, share)
        dx = self.hip_x(pelvis_x, side) - ankle[0]
        dy = np.sqrt(max(d**2 - dx**2 - fz**2, 1e-6))
        return np.array([pelvis_x, ankle[1] + dy, ankle[2] + fz])

    def lean_for(self, flexion: float, share: float = 0.4, k: float = 0.75) -> float:
        """Trunk lean that keeps the mass over the feet as the hips go back."""
        return k * (flexion - STANDING_FLEXION_DEG) * (1 - share)

    def ankle_at(self, x: float, z: float, floor: float = 0.0) -> np.ndarray:
        return np.array([x, floor + self.b.ankle_height, z])

    def toe_pivot(self, ankle: np.ndarray, side: Side, pitch_deg: float) -> np.ndarray:
        """Ankle position after the heel rises by `pitch_deg` about a planted toe."""
        h = self.b.ankle_height
        z0 = np.zeros(1)
        _, toe0 = foot_points(ankle[None], np.radians(self.p.toe_out_deg) + z0, z0, lateral_sign(side), self.b.foot, h)
        _, toe1 = foot_points(ankle[None], np.radians(self.p.toe_out_deg) + z0, np.radians(pitch_deg) + z0,
                              lateral_sign(side), self.b.foot, h)
        return ankle + (toe0 - toe1)[0]

    def standing(self, pelvis_x: float = 0.0, half_width: float | None = None, floor: float = 0.0) -> Pose:
        hw = self.b.hip_width / 2 if half_width is None else half_width
        ankle = {s: self.ankle_at(lateral_sign(s) * hw, 0.0, floor) for s in SIDES}
        pelvis = self.pelvis_for(ankle[Side.LEFT], Side.LEFT, STANDING_FLEXION_DEG, pelvis_x)
        return Pose(pelvis, ankle)

    # -- timeline ----------------------------------------------------------------------------
    def key(self, dt: float, pose: Pose) -> None:
        self.t += dt
        self.keys.append((self.t, pose))

    def rep(self, t0: float, legs: tuple[Side, ...], idx: int, loaded: tuple[float, float] | None = None,
            shift_times: tuple[float, float, float, float] | None = None, direction: Side | None = None) -> None:
        shift = {s: self.p.shift(idx, s) for s in SIDES}
        self.reps.append(RepScript(idx + 1, t0, self.t, legs, shift, loaded or (t0, self.t), shift_times, direction))

    def rest(self) -> None:
        self.key(self.p.rest_s, self.keys[-1][1].copy())


def _squat(s: _Script) -> None:
    p = s.p
    stand = s.standing(half_width=p.stance_width_m / 2)
    bottom_pelvis = s.pelvis_for(stand.ankle[Side.LEFT], Side.LEFT, p.depth_deg, 0.0)
    bottom = stand.copy(pelvis=bottom_pelvis, lean_deg=s.lean_for(p.depth_deg))
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    for i in range(p.reps):
        t0 = s.t
        s.key(0.45 * p.tempo_s, bottom)
        s.key(0.10 * p.tempo_s, bottom.copy())
        s.key(0.45 * p.tempo_s, stand.copy())
        s.rep(t0, SIDES, i)
        s.rest()


def _lunge(s: _Script) -> None:
    p, b = s.p, s.b
    stand = s.standing()
    step = 0.42 * b.height_m
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    for i in range(p.reps):
        w = p.leg_for(i)
        o = w.other
        front = stand.ankle[w] + np.array([0.0, 0.0, step])
        mid = stand.copy()
        mid.ankle[w] = (stand.ankle[w] + front) / 2 + np.array([0.0, 0.10, 0.0])
        mid.pelvis = stand.pelvis + np.array([0.0, 0.0, 0.12 * step])
        planted = stand.copy()
        planted.ankle[w] = front
        planted.pelvis = stand.pelvis + np.array([0.0, -0.02, 0.45 * step])
        planted.ankle[o] = s.toe_pivot(stand.ankle[o], o, 20.0)
        planted.pitch_deg[o] = 20.0
        bottom = planted.copy()
        bottom.pelvis = s.pelvis_for(front, w, p.depth_deg, 0.0, share=0.25)
        bottom.ankle[o] = s.toe_pivot(stand.ankle[o], o, 45.0)
        bottom.pitch_deg[o] = 45.0
        bottom.lean_deg = 6.0
        _step_out_rep(s, i, w, (stand, mid, planted, bottom))


def _step_out_rep(s: _Script, i: int, w: Side, poses: tuple[Pose, Pose, Pose, Pose]) -> None:
    """One stepping rep (lunges): step out, load to the bottom, back to planted, step home.

    The rep is loaded only while the stepping foot is planted.
    """
    stand, mid, planted, bottom = poses
    T = s.p.tempo_s
    t0 = s.t
    s.key(0.14 * T, mid)
    s.key(0.12 * T, planted)
    t_load = s.t
    s.key(0.25 * T, bottom)
    s.key(0.07 * T, bottom.copy())
    s.key(0.22 * T, planted.copy())
    t_unload = s.t
    s.key(0.10 * T, mid.copy())
    s.key(0.10 * T, stand.copy())
    s.rep(t0, (w,), i, (t_load, t_unload))
    s.rest()


def _step_down(s: _Script) -> None:
    """Forward step-down from a box: the free heel taps the floor in front of the box."""
    p = s.p
    w = p.working_leg
    h = p.step_height_m
    depth = 0.40
    s.boxes.append(Box(0.0, 0.0, 0.62, h, depth))
    stand = s.standing(floor=h)
    lift = stand.copy()
    lift.ankle[w.other] = stand.ankle[w.other] + np.array([0.0, 0.06, 0.12])
    lift.pelvis = stand.pelvis + np.array([lateral_sign(w) * 0.02, 0.0, 0.0])
    bottom = lift.copy()
    px = lift.pelvis[0]
    bottom.pelvis = s.pelvis_for(stand.ankle[w], w, p.depth_deg, px, share=0.45)
    bottom.lean_deg = s.lean_for(p.depth_deg, 0.45, 0.6)
    bottom.ankle[w.other] = s.ankle_at(stand.ankle[w.other][0], depth / 2 + 0.14)
    bottom.pitch_deg[w.other] = -15.0
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    for i in range(p.reps):
        t0 = s.t
        s.key(0.15 * p.tempo_s, lift)
        s.key(0.32 * p.tempo_s, bottom)
        s.key(0.08 * p.tempo_s, bottom.copy())
        s.key(0.30 * p.tempo_s, lift.copy())
        s.key(0.15 * p.tempo_s, stand.copy())
        s.rep(t0, (w,), i)
        s.rest()


def _step_up(s: _Script) -> None:
    """Lateral step-up: the working foot steps sideways onto a box and the body rises over it."""
    p, b = s.p, s.b
    w = p.working_leg
    sw = lateral_sign(w)
    h = p.step_height_m
    box_x = sw * (b.hip_width / 2 + 0.24)
    s.boxes.append(Box(box_x, 0.0, 0.36, h, 0.40))
    stand = s.standing()
    on_box = s.ankle_at(box_x - sw * 0.02, 0.0, floor=h)
    swing = stand.copy()
    swing.ankle[w] = (stand.ankle[w] + on_box) / 2 + np.array([0.0, h + 0.06, 0.0])
    # Foot placed on the box at the working depth, then the weight moves over it, still low.
    placed = stand.copy()
    placed.ankle[w] = on_box
    placed.pelvis = s.pelvis_for(on_box, w, p.depth_deg, stand.pelvis[0] + sw * 0.03, share=0.4)
    placed.lean_deg = s.lean_for(p.depth_deg, 0.4, 0.3)
    low = placed.copy()
    low.pelvis = s.pelvis_for(on_box, w, p.depth_deg, stand.pelvis[0] + sw * 0.09, share=0.4)
    low.lean_deg = s.lean_for(p.depth_deg, 0.4, 0.5)
    top = placed.copy()
    top.pelvis = s.pelvis_for(on_box, w, STANDING_FLEXION_DEG + 2, box_x - sw * b.hip_width / 2 - sw * 0.04)
    top.ankle[w.other] = top.pelvis + np.array([-sw * b.hip_width / 2, 0.0, 0.0])
    top.ankle[w.other][1] = h + b.ankle_height + 0.04
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    T = p.tempo_s
    for i in range(p.reps):
        t0 = s.t
        s.key(0.10 * T, swing)
        s.key(0.10 * T, placed)
        s.key(0.10 * T, low)
        t_load = s.t - 0.10 * T
        s.key(0.22 * T, top)
        s.key(0.08 * T, top.copy())
        s.key(0.20 * T, low.copy())
        s.key(0.05 * T, placed.copy())
        t_unload = s.t
        s.key(0.08 * T, swing.copy())
        s.key(0.07 * T, stand.copy())
        s.rep(t0, (w,), i, (t_load, t_unload))
        s.rest()


def _single_leg_hold_pose(s: _Script, w: Side, stance: Pose, flexion: float, behind: bool) -> Pose:
    """Pose standing on `w` with the other foot lifted (in front for squats, behind for balance)."""
    px = stance.ankle[w][0] - lateral_sign(w) * s.b.hip_width / 2 + lateral_sign(w) * 0.035
    pose = stance.copy()
    pose.pelvis = s.pelvis_for(stance.ankle[w], w, flexion, px, share=0.4)
    pose.lean_deg = s.lean_for(flexion, 0.4, 0.7)
    o = w.other
    if behind:
        rel = np.array([0.0, -0.55 * s.b.leg, -0.30 * s.b.leg])
    else:
        rel = np.array([0.0, -0.70 * s.b.leg, 0.35 * s.b.leg])
    pose.ankle[o] = pose.pelvis + np.array([lateral_sign(o) * s.b.hip_width / 2, 0.0, 0.0]) + rel
    pose.pitch_deg[o] = 25.0 if behind else 10.0
    return pose


def _single_leg_squat(s: _Script) -> None:
    p = s.p
    w = p.working_leg
    stand = s.standing()
    up = _single_leg_hold_pose(s, w, stand, STANDING_FLEXION_DEG + 3, behind=False)
    bottom = _single_leg_hold_pose(s, w, stand, p.depth_deg, behind=False)
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    s.key(0.8, up)
    s.key(0.4, up.copy())
    for i in range(p.reps):
        t0 = s.t
        s.key(0.45 * p.tempo_s, bottom)
        s.key(0.10 * p.tempo_s, bottom.copy())
        s.key(0.45 * p.tempo_s, up.copy())
        s.rep(t0, (w,), i)
        s.rest()
    s.key(0.8, stand.copy())


def _side_lunge(s: _Script) -> None:
    p, b = s.p, s.b
    stand = s.standing()
    out = 0.36 * b.height_m
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    for i in range(p.reps):
        w = p.leg_for(i)
        sw = lateral_sign(w)
        wide = stand.ankle[w] + np.array([sw * out, 0.0, 0.0])
        mid = stand.copy()
        mid.ankle[w] = (stand.ankle[w] + wide) / 2 + np.array([0.0, 0.08, 0.0])
        mid.pelvis = stand.pelvis + np.array([sw * 0.05, 0.0, 0.0])
        planted = stand.copy()
        planted.ankle[w] = wide
        planted.pelvis = stand.pelvis + np.array([sw * out / 2, -0.03, 0.0])
        bottom = planted.copy()
        bottom.pelvis = _side_lunge_pelvis(s, wide, stand.ankle[w.other], w, p.depth_deg)
        bottom.lean_deg = s.lean_for(p.depth_deg, 0.35, 0.8)
        _step_out_rep(s, i, w, (stand, mid, planted, bottom))


def _side_lunge_pelvis(s: _Script, wide: np.ndarray, trail: np.ndarray, w: Side, flexion: float) -> np.ndarray:
    """Pelvis over the bent leg, as far out as the straight trailing leg lets it go."""
    lo, hi = trail[0], wide[0]
    for _ in range(40):  # bisection on the pelvis x
        mid = (lo + hi) / 2
        pel = s.pelvis_for(wide, w, flexion, mid, share=0.35)
        d = np.linalg.norm(pel + np.array([s.hip_x(0.0, w.other), 0, 0]) - trail)
        if d > 0.985 * s.b.leg:
            hi = mid
        else:
            lo = mid
    return s.pelvis_for(wide, w, flexion, lo, share=0.35)


def _balance(s: _Script) -> None:
    p = s.p
    w = p.working_leg
    stand = s.standing()
    on = stand
    if p.tiptoe_deg:  # the stance heel rises about the toe as the other foot lifts
        on = stand.copy()
        on.ankle[w] = s.toe_pivot(stand.ankle[w], w, p.tiptoe_deg)
        on.pitch_deg[w] = p.tiptoe_deg
    hold = _single_leg_hold_pose(s, w, on, 8.0, behind=True)
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    s.key(0.7, hold)
    t_start = s.t - 0.35  # the free foot leaves the floor about halfway through the lift
    touch = []
    td_pose = hold.copy()
    td_pose.ankle[w.other] = stand.ankle[w.other] + np.array([0.0, 0.0, -0.05])
    td_pose.pelvis = hold.pelvis + np.array([-lateral_sign(w) * 0.02, 0.0, 0.0])
    td_pose.pitch_deg[w.other] = 10.0
    turns: list[tuple[float, float, float]] = []
    reaches: list[tuple[float, float]] = []
    events = sorted([(td, "touchdown") for td in p.touchdowns_s] + [(h, "head") for h in p.head_turns_s]
                    + [(r, "reach") for r in p.reaches_s])
    for when, kind in events:
        at = t_start + when
        if kind == "touchdown":
            if at - 0.35 <= s.t or at + 0.9 >= t_start + p.hold_s:
                continue
            s.key(at - 0.35 - s.t, hold.copy())
            s.key(0.35, td_pose)
            touch.append(round(s.t, 3))
            s.key(0.30, td_pose.copy())
            s.key(0.35, hold.copy())
        elif kind == "head":  # out 0.6 s, held 0.5 s, back 0.6 s
            if at <= s.t or at + 1.9 >= t_start + p.hold_s:
                continue
            deg = p.head_turn_deg * (1 if len(turns) % 2 == 0 else -1)
            s.key(at - s.t, hold.copy())
            s.key(0.6, hold.copy(head_deg=deg))
            s.key(0.5, hold.copy(head_deg=deg))
            s.key(0.6, hold.copy())
            turns.append((round(at, 3), round(s.t, 3), deg))
        else:  # the free leg swung out to its side, nearly straight: out 0.7 s, held 0.4 s, back 0.7 s
            if at <= s.t or at + 2.0 >= t_start + p.hold_s:
                continue
            o = w.other
            a = np.radians(p.reach_deg)
            out = hold.copy()
            out.ankle[o] = (hold.pelvis + np.array([lateral_sign(o) * s.b.hip_width / 2, 0.0, 0.0])
                            + 0.97 * s.b.leg * np.array([lateral_sign(o) * np.sin(a), -np.cos(a), 0.0]))
            out.pitch_deg[o] = 10.0
            s.key(at - s.t, hold.copy())
            s.key(0.7, out)
            s.key(0.4, out.copy())
            s.key(0.7, hold.copy())
            reaches.append((round(at, 3), round(s.t, 3)))
    s.key(t_start + p.hold_s - s.t, hold.copy())
    s.key(0.7, stand.copy())
    s.holds.append(Hold(w, round(t_start, 3), round(s.t - 0.35, 3), touch, p.tiptoe_deg, turns, reaches))
    s.sway = (t_start, t_start + p.hold_s, w)
    s.key(p.tail_s, stand.copy())


def _seated_knee(s: _Script, pelvis: np.ndarray, side: Side, flexion: float) -> tuple[np.ndarray, float]:
    """Ankle and foot pitch of a seated leg (thigh level, straight forward) at this knee flexion."""
    b = s.b
    knee = pelvis + np.array([lateral_sign(side) * b.hip_width / 2, 0.0, b.thigh])
    f = np.radians(flexion)
    ankle = knee + b.shank * np.array([0.0, -np.sin(f), np.cos(f)])
    return ankle, min(0.0, flexion - 90.0)  # the foot stays square to the shank: toes up as it straightens


def _knee_rom(s: _Script) -> None:
    """Seated knee extension on a stool (knee range of motion): both knees rest at `depth_deg`,
    feet on the floor; each rep the working knee straightens to its `extension_deg` and bends back.
    The true range is the skeleton's own flexion (truth.py), not these targets."""
    p, b = s.p, s.b
    w = p.working_leg
    pelvis = np.array([0.0, b.ankle_height + b.shank * np.sin(np.radians(p.depth_deg)), 0.0])
    s.boxes.append(Box(x=0.0, z=-0.02, width=0.42, height=float(pelvis[1]) - 0.09, depth=0.40))

    def pose(flexion: float) -> Pose:
        ankle, pitch = {}, {}
        for sd in SIDES:
            ankle[sd], pitch[sd] = _seated_knee(s, pelvis, sd, flexion if sd is w else p.depth_deg)
        return Pose(pelvis.copy(), ankle, pitch)

    rest = pose(p.depth_deg)
    s.key(0.0, rest)
    s.key(p.lead_in_s, rest.copy())
    for i in range(p.reps):
        t0 = s.t
        straight = pose(p.extension_deg[i % len(p.extension_deg)])
        s.key(0.45 * p.tempo_s, straight)
        s.key(0.10 * p.tempo_s + p.extension_hold_s, straight.copy())
        s.key(0.45 * p.tempo_s, rest.copy())
        s.rep(t0, (w,), i)
        s.rest()


def _hop(s: _Script) -> None:
    """Double-leg hops: from a ready stance (knees bent `HOP_READY_DEG`) the body flies
    `HOP_HEIGHT_M` up and comes down on both feet (initial contact), absorbs to `depth_deg` in
    `HOP_ABSORB_S`, and pushes straight off into the next hop; after the last landing the person
    stands up. With `hop_travel_m` each hop also travels that far forward, then the next as far
    back (forward/back hops over a line): filmed from the front, every other landing is nearer the
    camera; with `hop_sideways` to the person's left and back right (side to side). With
    `hop_single_leg` every hop is on `working_leg`, the other foot held up behind from the ready
    stance on and put down after the last landing. Each landing is a rep from contact to take-off, so a rep's medial shift ramps with
    the absorbing knees from 0 at contact (truth.py reads the contacts off the skeleton's feet)."""
    p = s.p
    stand = s.standing(half_width=p.stance_width_m / 2)
    legs: tuple[Side, ...] = SIDES
    if p.hop_single_leg:
        legs = (p.working_leg,)
        ready = _single_leg_hold_pose(s, p.working_leg, stand, HOP_READY_DEG, behind=True)
        bottom = _single_leg_hold_pose(s, p.working_leg, stand, p.depth_deg, behind=True)
    else:
        ready = stand.copy(pelvis=s.pelvis_for(stand.ankle[Side.LEFT], Side.LEFT, HOP_READY_DEG, 0.0))
        bottom = stand.copy(pelvis=s.pelvis_for(stand.ankle[Side.LEFT], Side.LEFT, p.depth_deg, 0.0),
                            lean_deg=s.lean_for(p.depth_deg))
    up = np.array([0.0, HOP_HEIGHT_M, 0.0])
    apex = _moved(ready, up)
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand)
    s.key(0.4, ready)
    way = LEFT if p.hop_sideways else FORWARD
    at = 0.0
    for i in range(p.reps):
        travel = p.hop_travel_m if i % 2 == 0 else -p.hop_travel_m
        s.key(HOP_FLIGHT_S / 2, _moved(apex, way * (at + travel / 2)))
        at += travel
        s.key(HOP_FLIGHT_S / 2, _moved(ready, way * at))
        t0 = s.t
        s.key(HOP_ABSORB_S, _moved(bottom, way * at))
        s.key(0.05, _moved(bottom, way * at))
        s.key(0.2, _moved(ready if i < p.reps - 1 else stand, way * at))
        s.rep(t0, legs, i)


def _moved(pose: Pose, d: np.ndarray) -> Pose:
    """`pose` with the pelvis and both feet moved by `d` (metres)."""
    return pose.copy(pelvis=pose.pelvis + d, ankle={sd: a + d for sd, a in pose.ankle.items()})


HOP_READY_DEG, HOP_HEIGHT_M, HOP_FLIGHT_S, HOP_ABSORB_S = 12.0, 0.10, 0.3, 0.12


def _side_steps(s: _Script, directions: list[Side], pushing_only: bool) -> None:
    """Sideways steps in the athletic stance (knees bent `depth_deg`, ankles `stance_width_m`
    apart): per step the leading foot (the `direction` side) steps `step_m` out with a small lift
    (push-off = the moment it starts), the trailing leg's foot follows back to the stance width, or
    to `narrow_gap_m` on `narrow_steps` (the next step's lead makes up the difference). The pelvis
    stays midway between the ankles, so both knees keep the same flexion, and the person travels
    across the frame. A rep is a step from push-off to the trailing foot down; its medial shift is
    held from 0.25 s before push-off to 0.2 s after (`shift_times`), the push-off's loading."""
    p = s.p
    # Start off-centre by half the first run of steps one way, so the walk crosses the frame's middle.
    run = next((k for k, d in enumerate(directions) if d is not directions[0]), len(directions))
    offset = -lateral_sign(directions[0]) * p.step_m * run / 2 if directions else 0.0
    x = {sd: lateral_sign(sd) * p.stance_width_m / 2 + offset for sd in SIDES}
    flex = p.depth_deg

    def pose(xs: dict[Side, float], bend: float, lift: Side | None = None) -> Pose:
        ankle = {sd: s.ankle_at(xs[sd], 0.0) + (np.array([0.0, 0.04, 0.0]) if sd is lift else 0.0) for sd in SIDES}
        mid = (xs[Side.LEFT] + xs[Side.RIGHT]) / 2
        flat = {sd: s.ankle_at(xs[sd], 0.0) for sd in SIDES}
        return Pose(s.pelvis_for(flat[Side.LEFT], Side.LEFT, bend, mid), ankle, lean_deg=s.lean_for(bend))

    stand = pose(x, STANDING_FLEXION_DEG)
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand.copy())
    s.key(0.7, pose(x, flex))
    s.key(0.4, pose(x, flex))
    owed = 0.0
    for i, d in enumerate(directions):
        lead, trail = d, d.other
        sg = lateral_sign(d)
        t0 = s.t
        out = dict(x)
        out[lead] = x[lead] + sg * (p.step_m + owed)
        half = dict(x)
        half[lead] = (x[lead] + out[lead]) / 2
        s.key(0.2, pose(half, flex, lift=lead))
        s.key(0.2, pose(out, flex))
        s.key(0.15, pose(out, flex))
        gap = p.narrow_gap_m if i in p.narrow_steps else p.stance_width_m
        owed = p.stance_width_m - gap
        back = dict(out)
        back[trail] = out[lead] - sg * gap
        half = dict(out)
        half[trail] = (out[trail] + back[trail]) / 2
        s.key(0.2, pose(half, flex, lift=trail))
        s.key(0.2, pose(back, flex))
        x = back
        s.rep(t0, SIDES if not pushing_only else (trail,), i, loaded=(t0, t0),
              shift_times=(t0 - 0.35, t0 - 0.25, t0 + 0.2, t0 + 0.3), direction=d)
        s.key(p.rest_s, pose(x, flex))
    s.key(0.7, pose(x, STANDING_FLEXION_DEG))


def _band_walk(s: _Script) -> None:
    """Band side-shuffle: half the steps toward the working leg's side, then back the other way."""
    w = s.p.working_leg
    n = s.p.reps
    _side_steps(s, [w] * (n - n // 2) + [w.other] * (n // 2), pushing_only=False)


def _side_push(s: _Script) -> None:
    """Side pushes: big steps side to side, the first pushed off the working leg (so toward the
    other side), then alternating; only the pushing leg works."""
    w = s.p.working_leg
    _side_steps(s, [w.other if i % 2 == 0 else w for i in range(s.p.reps)], pushing_only=True)


def _straight_leg_pelvis(s: _Script, bent: np.ndarray, straight: np.ndarray, w: Side, flexion: float) -> np.ndarray:
    """Pelvis over the bent leg `w` at this knee flexion with the other leg straight (its standing
    hip-to-ankle length) to its foot at `straight`: the side-lunge position, solved for the pelvis x."""
    want = hip_to_ankle_distance(STANDING_FLEXION_DEG, s.b.thigh, s.b.shank)
    o = w.other
    lo, hi = straight[0], bent[0]  # the pelvis lies between the feet
    for _ in range(50):  # bisection: nearer the straight foot, the straight leg is shorter
        mid = (lo + hi) / 2
        pel = s.pelvis_for(bent, w, flexion, mid, share=0.35)
        d = np.linalg.norm(pel + np.array([s.hip_x(0.0, o), 0.0, 0.0]) - straight)
        lo, hi = (mid, hi) if d < want else (lo, mid)
    return s.pelvis_for(bent, w, flexion, (lo + hi) / 2, share=0.35)


def _adduction_slide(s: _Script) -> None:
    """Hip adduction slides: from standing, the straight leg's foot slides out into the side-lunge
    position (the working leg bent to `depth_deg` over its own foot, the other leg straight), then
    per rep slides `slide_m` in (the body rising, the bent knee to `slide_in_deg`, the leg kept
    straight), pauses, and slides back out; the person stands up at the end. Each slide is keyed
    every quarter, each key solved with the leg straight, so the leg stays straight between keys.
    A rep runs from the foot starting in to it back out, its bottom the foot in (`loaded`); its
    medial shift is held from 0.3 s before the slide to its end (`shift_times`): the bent knee
    carries the body throughout rather than bending into the slide."""
    p, b = s.p, s.b
    w = p.working_leg
    o = w.other
    stand = s.standing()
    wide_x = stand.ankle[o][0] + lateral_sign(o) * (p.slide_m + 0.12 * b.height_m)

    def pose(k: float) -> Pose:
        """k = 0: the foot out, k = 1: the foot in."""
        ankle = {w: stand.ankle[w].copy(), o: s.ankle_at(wide_x - lateral_sign(o) * k * p.slide_m, 0.0)}
        flexion = p.depth_deg + k * (p.slide_in_deg - p.depth_deg)
        pelvis = _straight_leg_pelvis(s, ankle[w], ankle[o], w, flexion)
        return Pose(pelvis, ankle, lean_deg=s.lean_for(flexion, 0.35, 0.8))

    def slide(frm: float, to: float, dt: float) -> None:
        for q in (0.25, 0.5, 0.75, 1.0):
            s.key(dt / 4, pose(frm + q * (to - frm)))

    s.key(0.0, stand)
    s.key(p.lead_in_s, stand.copy())
    s.key(1.0, pose(0.0))
    s.key(0.6, pose(0.0))
    T = p.tempo_s
    for i in range(p.reps):
        t0 = s.t
        slide(0.0, 1.0, 0.4 * T)
        t_in = s.t
        s.key(0.2 * T, pose(1.0))
        slide(1.0, 0.0, 0.4 * T)
        s.rep(t0, (w,), i, loaded=(t_in, t_in), shift_times=(t0 - 0.3, t0, s.t, s.t + 0.3))
        s.rest()
    s.key(1.0, stand.copy())


def _pivot(s: _Script) -> None:
    """Pivots: from standing, the working foot steps 0.3 m forward and lands with the knee bent
    `plant_deg` (the plant), the weight comes onto it (the knee to `depth_deg`), then the body turns
    `turn_deg` away from it about the vertical while the other foot steps round, holds, and
    everything goes back; 2 s standing between pivots. A rep runs from the plant to the turn's end
    (its bottom the plant); its medial shift is held from 0.05 s before the plant to 0.25 s after,
    ramped over 0.1 s each side, and over before the turn starts (0.3 s after the plant)."""
    p = s.p
    w = p.working_leg
    o = w.other
    stand = s.standing()
    ahead = np.array([0.0, 0.0, 0.30])
    planted = stand.ankle[w] + ahead
    mid = stand.copy(pelvis=stand.pelvis + 0.4 * ahead)
    mid.ankle[w] = stand.ankle[w] + 0.5 * ahead + np.array([0.0, 0.08, 0.0])
    px = stand.pelvis[0] + lateral_sign(w) * 0.03
    landed = stand.copy(pelvis=s.pelvis_for(planted, w, p.plant_deg, px, share=0.3), lean_deg=s.lean_for(p.plant_deg, 0.3, 0.6))
    landed.ankle[w] = planted
    loaded = landed.copy(pelvis=s.pelvis_for(planted, w, p.depth_deg, px, share=0.3), lean_deg=s.lean_for(p.depth_deg, 0.3, 0.6))
    turn = -lateral_sign(w) * p.turn_deg  # + turns to the person's left: away from a right foot
    c, sn = np.cos(np.radians(turn)), np.sin(np.radians(turn))
    rel = loaded.ankle[o] - loaded.pelvis
    turned = loaded.copy(turn_deg=turn)
    turned.ankle[o] = loaded.pelvis + np.array([c * rel[0] + sn * rel[2], rel[1], -sn * rel[0] + c * rel[2]])
    half = loaded.copy(turn_deg=turn / 2)
    half.ankle[o] = (loaded.ankle[o] + turned.ankle[o]) / 2 + np.array([0.0, 0.05, 0.0])
    s.key(0.0, stand)
    s.key(p.lead_in_s, stand.copy())
    for i in range(p.reps):
        s.key(0.25, mid.copy())
        s.key(0.2, landed.copy())
        t_plant = s.t
        s.key(0.3, loaded.copy())
        s.key(0.25, half.copy())
        s.key(0.25, turned.copy())
        s.rep(t_plant, (w,), i, loaded=(t_plant, t_plant),
              shift_times=(t_plant - 0.15, t_plant - 0.05, t_plant + 0.25, t_plant + 0.3))
        s.key(0.6, turned.copy())
        s.key(0.25, half.copy())
        s.key(0.25, loaded.copy())
        s.key(0.3, landed.copy())
        s.key(0.2, mid.copy())
        s.key(0.25, stand.copy())
        s.key(2.0, stand.copy())


_SCRIPTS = {
    "squat": _squat,
    "lunge": _lunge,
    "step-down": _step_down,
    "step-up": _step_up,
    "single-leg-squat": _single_leg_squat,
    "side-lunge": _side_lunge,
    "balance": _balance,
    "knee-rom": _knee_rom,
    "hop": _hop,
    "band-walk": _band_walk,
    "side-push": _side_push,
    "adduction-slide": _adduction_slide,
    "pivot": _pivot,
}


def _interpolate(keys: list[tuple[float, Pose]], t: np.ndarray) -> dict:
    """Per-frame pelvis, ankles, pitches and lean, eased between key poses."""
    times = np.array([k for k, _ in keys])
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    j = np.minimum(i + 1, len(times) - 1)
    span = times[j] - times[i]
    s = smoothstep(np.where(span > 0, (t - times[i]) / np.where(span > 0, span, 1.0), 0.0))[:, None]

    def lerp(get) -> np.ndarray:
        vals = np.array([np.asarray(get(p), dtype=float) for _, p in keys])
        a, b = vals[i], vals[j]
        if a.ndim == 1:
            return a + (b - a) * s[:, 0]
        return a + (b - a) * s

    return {
        "pelvis": lerp(lambda p: p.pelvis),
        "lean": lerp(lambda p: p.lean_deg),
        "turn": lerp(lambda p: p.turn_deg),
        "head": lerp(lambda p: p.head_deg),
        "ankle": {sd: lerp(lambda p, sd=sd: p.ankle[sd]) for sd in SIDES},
        "pitch": {sd: lerp(lambda p, sd=sd: p.pitch_deg[sd]) for sd in SIDES},
    }


def _sway(t: np.ndarray, t0: float, t1: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Slow postural sway (a few incommensurate sines), faded in and out at the hold's ends."""
    env = smoothstep((t - t0) / 0.8) * smoothstep((t1 - t) / 0.8)
    out = np.zeros((len(t), 3))
    for axis, scale in ((0, 1.0), (2, 0.7)):
        for f in (0.23, 0.41, 0.67):
            out[:, axis] += scale * amp / 2 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out * env[:, None]


def _arms(joints: np.ndarray, body: BodyShape, style: str, up: np.ndarray, fwd: np.ndarray, left: np.ndarray) -> None:
    """Place elbows and wrists for an arm style, in place."""
    lu, lf = body.upper_arm, body.forearm
    for side in SIDES:
        sl = lateral_sign(side) * left
        sh = joints[:, side_joint("SHOULDER", side)]
        hip = joints[:, side_joint("HIP", side)]
        if style == "hips":
            target = hip + 0.09 * sl + 0.11 * up + 0.01 * fwd
            pole = sl * 1.0 - 0.6 * fwd
        elif style == "forward":
            target = sh + 0.95 * (lu + lf) * fwd - 0.05 * up + 0.04 * -sl
            pole = -up
        elif style == "out":
            target = sh + 0.95 * (lu + lf) * unit(sl * 0.75 - up * 0.66)
            pole = -fwd - up * 0.3
        else:  # sides
            target = sh + 0.97 * (lu + lf) * unit(-up + 0.12 * sl + 0.05 * fwd)
            pole = -fwd + 0.2 * sl
        elbow, wrist = two_bone(sh, target, lu, lf, np.broadcast_to(pole, sh.shape))
        joints[:, side_joint("ELBOW", side)] = elbow
        joints[:, side_joint("WRIST", side)] = wrist


def build_motion(params: MotionParams, body: BodyShape | None = None, seed: int = 0) -> Motion:
    """Pose the skeleton for every frame of the scripted exercise."""
    if params.exercise not in _SCRIPTS:
        raise ValueError(f"unknown exercise {params.exercise!r}; one of {', '.join(_SCRIPTS)}")
    body = body or BodyShape()
    rng = np.random.default_rng(seed)
    sc = _Script(params, body)
    _SCRIPTS[params.exercise](sc)
    if params.exercise != "balance":
        sc.key(params.tail_s, sc.keys[-1][1].copy())
    n = int(round(sc.t * params.fps)) + 1
    t = np.arange(n) / params.fps
    k = _interpolate(sc.keys, t)
    pelvis = k["pelvis"]
    ankles = {sd: k["ankle"][sd].copy() for sd in SIDES}
    if sc.sway is not None:
        t0, t1, w = sc.sway
        sway = _sway(t, t0, t1, params.sway_m, rng)
        pelvis = pelvis + sway
        ankles[w.other] = ankles[w.other] + sway

    J_ = np.zeros((n, NUM_JOINTS, 3))
    J_[:, J.PELVIS] = pelvis
    # The body's left and forward, turned about the vertical (LEFT and +z when square to the camera)
    turn = np.radians(k["turn"])
    left = np.stack([np.cos(turn), np.zeros(n), -np.sin(turn)], axis=-1)
    ahead = np.stack([np.sin(turn), np.zeros(n), np.cos(turn)], axis=-1)
    toe_out = np.radians(params.toe_out_deg) * np.ones(n)
    flex = {}
    for sd in SIDES:
        sg = lateral_sign(sd)
        hip = pelvis + sg * body.hip_width / 2 * left
        yaw = toe_out * sg
        foot_fwd = np.stack([np.sin(yaw), np.zeros(n), np.cos(yaw)], axis=-1)
        knee, ankle = two_bone(hip, ankles[sd], body.thigh, body.shank, _over_foot_pole(hip, ankles[sd], foot_fwd, body))
        J_[:, side_joint("HIP", sd)] = hip
        J_[:, side_joint("KNEE", sd)] = knee
        J_[:, side_joint("ANKLE", sd)] = ankle
        flex[sd] = knee_flexion_deg(hip, knee, ankle)
        heel, toe = foot_points(ankle, toe_out, np.radians(k["pitch"][sd]), sg, body.foot, body.ankle_height)
        J_[:, side_joint("HEEL", sd)] = heel
        J_[:, side_joint("TOE", sd)] = toe

    reps = _apply_rep_shifts(sc.reps, J_, flex, t, params.fps)

    lean = np.radians(k["lean"])[:, None]
    up = np.cos(lean) * UP + np.sin(lean) * ahead
    fwd = -np.sin(lean) * UP + np.cos(lean) * ahead
    for sd in SIDES:
        J_[:, side_joint("SHOULDER", sd)] = pelvis + body.trunk * up + lateral_sign(sd) * body.shoulder_width / 2 * left
    J_[:, J.NECK] = pelvis + body.trunk * up + 0.045 * body.height_m * up
    head_up = unit(up - 0.25 * ahead * np.sin(lean))  # head stays more upright
    J_[:, J.HEAD] = J_[:, J.NECK] + 0.085 * body.height_m * head_up
    # The face's way: the trunk's forward (as body.head_frame reads it) turned by the head's turn
    t_left, _, t_fwd = body_frame(J_)
    psi = np.radians(k["head"])[:, None]
    J_[:, J.FACE] = J_[:, J.HEAD] + 0.1 * (np.cos(psi) * t_fwd + np.sin(psi) * t_left)
    _arms(J_, body, params.arms, up, fwd, left)
    return Motion(params, body, t, J_, flex, reps, sc.holds, sc.boxes)


def _over_foot_pole(hip: np.ndarray, ankle: np.ndarray, foot_fwd: np.ndarray, body: BodyShape) -> np.ndarray:
    """Where a well-aligned knee goes: above the line of the foot, as far forward as the shank tilts.

    The knee "tracks over the toes" (the coaching ideal) rather than bending toward a fixed
    direction, so a clean rep is clean whatever the stance width and toe-out.
    """
    d = np.linalg.norm(hip - ankle, axis=-1)
    c = (d**2 - body.thigh**2 - body.shank**2) / (2 * body.thigh * body.shank)
    flexion = np.arccos(np.clip(c, -1.0, 1.0))
    alpha = 0.4 * flexion + np.radians(3.0)
    target = ankle + body.shank * (foot_fwd * np.sin(alpha)[:, None] + UP * np.cos(alpha)[:, None])
    return target - hip


def _apply_rep_shifts(scripts: list[RepScript], joints: np.ndarray, flex: dict[Side, np.ndarray], t: np.ndarray,
                      fps: float) -> list[Rep]:
    """Rotate each rep's knees medially, ramped with flexion, and fix the rep windows."""
    reps = []
    n = len(t)
    for r in scripts:
        a = int(round(r.t_start * fps))
        e = min(int(round(r.t_end * fps)), n - 1)
        la, le = int(round(r.loaded[0] * fps)), min(int(round(r.loaded[1] * fps)), n - 1)
        work = np.mean([flex[sd][la : le + 1] for sd in r.legs], axis=0)
        # Deepest frame; with a pause at the bottom, the middle of the pause.
        deep = np.flatnonzero(work >= work.max() - 0.05)
        bottom = la + int(deep[len(deep) // 2])
        lo, hi = a, e
        if r.shift_times is not None:
            lo, hi = max(0, int(np.floor(r.shift_times[0] * fps))), min(int(np.ceil(r.shift_times[3] * fps)), n - 1)
        actual = {}
        for sd in SIDES:
            shift = r.shift_m.get(sd, 0.0) if sd in r.legs else 0.0
            if shift == 0.0:
                actual[sd] = 0.0
                continue
            if r.shift_times is not None:
                env = np.interp(t[lo : hi + 1], r.shift_times, (0.0, 1.0, 1.0, 0.0))
            else:
                th = flex[sd][a : e + 1]
                env = np.clip((th - th[0]) / max(flex[sd][bottom] - th[0], 1e-6), 0.0, 1.0)
            hip = joints[lo : hi + 1, side_joint("HIP", sd)]
            other = joints[lo : hi + 1, side_joint("HIP", sd.other)]
            knee = joints[lo : hi + 1, side_joint("KNEE", sd)].copy()
            ankle = joints[lo : hi + 1, side_joint("ANKLE", sd)]
            medial = unit(other - hip)
            new = apply_medial_shift(hip, knee, ankle, medial, shift * env)
            joints[lo : hi + 1, side_joint("KNEE", sd)] = new
            b = bottom - lo
            actual[sd] = float(np.dot(new[b] - knee[b], medial[b]))
        reps.append(Rep(r.index, a, bottom, e, r.legs, actual, r.direction))
    return reps
