"""`--exercise auto`: which supported exercise a clip shows, and how sure that is.

Rules on what the body does, measured in one walk over the whole clip (report pass), not a
learned model; each reads the signals of the trackers it would name. In this order:
- Hopping: the whole body leaving the floor again and again (the pelvis and both ankles above
  standing, then a landing). Fewer landings, one of them after a high flight, are a jump: unsure
  (the squat counter would take its countermovement for a squat).
- Lying (trunk near horizontal): on the side, side-lying hip work; on the back, heel slides
  (`knee-rom`) when the knee-rom counter finds its reps.
- Seated knee range of motion (`knee-rom`): a thigh level in the image nearly all along, the
  pelvis still, and the knee-rom counter's reps; unless the straight knee is held for seconds,
  which may be the knee-extension exercise. Seen from the side or obliquely: from the front the
  thigh points at the camera and does not read level; standing (a hamstring curl moves the same
  way) it is not named.
- One foot held off the floor for most of the clip: a balance hold without bends, a single-leg
  squat with them, unless the body travels sideways between the bends: landing on the leading
  leg after each push from side to side is `side-push` (lateral bounds to a single-leg catch),
  other travel unsure.
- Sideways steps that travel (both feet and the pelvis moving the step's way, the feet on one
  floor, the pelvis level): changing direction every step is `side-push` (around a centre),
  runs of steps one way `band-walk` (across the frame and back).
- Foot slides that start in the side-lunge position (feet wide apart on one floor) and keep it,
  no standing up between: `adduction-slide`.
- Turns of the shoulders, each on a foot that stays planted: `pivot`.
- Otherwise the reps found by the squat counter (both legs shortening in the image) are
  compared at their bottoms: knees at the same height over still feet is a squat; one knee near
  the floor is a lunge; one leg bent with the other straight, both feet on one floor, a side
  lunge. Reps with one or two landings after a low flight among them may be jump squats: unsure.
The rep exercises are named on three events or more that make up most of what the clip shows.
Anything else, or evidence split between answers, is "unsure": a wrong name would count the
wrong reps, an honest "unsure" asks the user. Step-ups and step-downs are never named.

Lying on the side is told from lying on the back by the hip line (world landmarks): one hip
above the other, or both level; on the back, only knee range of motion (heel slides) is named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from formcheck.core.landmarks import SIDES
from formcheck.core.metrics import Metrics
from formcheck.judging.scoring import STANDING_MAX_FLEXION_DEG
from formcheck.pipeline.report_frames import ReportFrames
from formcheck.trackers.base import RepWindow, Tracker
from formcheck.trackers.range_of_motion import knee_readings
from formcheck.trackers.signals import FOOT_OFF_FLOOR, knee_height

UNSURE = "unsure"
MIN_CONFIDENCE = 0.6
# A squat's feet stay planted: from start to bottom the ankles of real squats moved at most 0.11
# body lengths (model jitter), the synthetic step-down at yaw 15, whose reps otherwise look like
# squats, 0.27-0.31 (the free foot lowers to the floor).
SQUAT_FEET_MOVE = 0.15
# Hops: at least MIN_HOPS landings after a flight in which the pelvis and both ankles rose above
# their standing heights by FLIGHT_RISE body lengths (about 3.5 cm; a 10 cm hop lifts them about
# 0.06) within FLIGHT_LOOK_S before the landing. The feet alone are not enough: in side and oblique views both
# ankles of squats and lunges read as off the floor now and then, the pelvis never above standing.
MIN_HOPS = 3
# Feet whose heights differ by more than this (body lengths) are not on one floor: a step, a split
# stance. At a side lunge's bottom they differ by at most 0.03 (the synthetic side lunges and
# lateral_lunge_front_01; lateral_lunge_front_02's one shallow rep reads 0.16, unsure either way);
# at a step-down's or step-up's, whose straight leg also reads as a side lunge's, by 0.11-0.26.
FEET_LEVEL = 0.06
HOP_SHARE = 0.8  # and those landings at least this share of the bends the squat counter finds
# Fewer landings, one of them after a flight of JUMP_RISE body lengths or more, are a jump, which
# the squat counter takes for a squat (the countermovement): unsure. The real countermovement
# jump flies 0.30 (the broad jump toward the camera: unknown, an ankle unseen), 10 cm synthetic
# hops 0.07-0.08; the highest flights read without one 0.19 (a real single-leg squat, where the
# model loses the feet) and 0.10 (a synthetic step-up).
JUMP_RISE = 0.2
# Lower flights are not told from a standing height misread (a plateau of the pelvis and ankles,
# an arm taken for a leg, a cut between two shots reads 0.04-0.13), so one or two of them only
# stop the rep exercises below from being named: reps with a landing among them may be jump
# squats (the real ones, at 20 fps, fly 0.018 and 0.024: the top of a low flight falls between
# frames). The rep exercises named right read no flight over 0.007.
FLIGHT_RISE = 0.02
FLIGHT_LOOK_S = 0.25
# The rep exercises below are named only on this many of their reps, which must also be at least
# EVIDENCE_SHARE of those reps plus the squat counter's bends (the rest of what the clip shows).
MIN_EVENTS = 3
EVIDENCE_SHARE = 0.8
# Sideways steps (band-walk, side-push): a step of the side-step tracker travels when both ankles
# and the pelvis move at least STEP_TRAVEL body lengths its way (the synthetic band walk's 0.30 m
# steps read 0.24-0.41, the side pushes' 0.45 m 0.36-0.37; feet shuffling in real squats at most
# 0.04, a stance widened by pushing the feet apart moves them opposite ways) with both feet on one
# floor throughout (heights within STEP_LIFT: the lifted foot of a side step reads 0.03-0.04, a
# step-up's foot on the box 0.21-0.26, a split stance 0.16-0.22; both read as travelling steps)
# and the pelvis level (its height within STEP_LEVEL: side steps 0.02-0.05, step-ups 0.11-0.15,
# lunges 0.17-0.25). Steps that change direction every time are side pushes (around a centre);
# runs of steps one way are a band walk (across the frame and back); anything between is unsure.
MIN_STEPS = 4
STEP_TRAVEL = 0.08
STEP_LIFT = 0.10
STEP_LEVEL = 0.08
PUSH_ALTERNATE = 0.8  # share of consecutive steps that change direction: side pushes 1.0
WALK_ALTERNATE = 0.5  # at most this: runs of two or more steps one way (the band walk reads 0.14)
# Adduction slides: a slide of the adduction-slide tracker counts when it starts in the side-lunge
# position, the feet on one floor (FEET_LEVEL) and at least SLIDE_APART standing hip widths apart
# (the synthetic slides read 3.3; the slides the tracker also finds in step-downs 1.5, in step-ups
# 1.4-2.6 with a foot on the box, in a side lunge at yaw 30 3.9-4.1 but only 2 of them beside 4
# bends; in side pushes at yaw 20 3 of 3, beside 6 travelling steps). The position is held
# between slides, so the squat counter finds no bends there.
SLIDE_APART = 2.0
# Single-leg bends whose pelvis moved sideways at least BEND_TRAVEL body lengths from the last
# bend's bottom travel: the real lateral bounds to a one-leg catch (lateral_bound_front_myfitcal_man_01)
# read 0.56-0.63; real single-leg squats changing legs in place (sls_front_04) 0.06-0.09, the
# synthetic single-leg squat at yaw 30 and one-leg hops forward and back 0.01, lunge_oblique_01's
# single-leg bends 0.01-0.02.
BEND_TRAVEL = 0.3
# Pivots: turns of the shoulders the pivot tracker counts, each on a foot that stayed planted
# through the turn (its ankle within PLANT_STILL body lengths: 0.01-0.02 on the synthetic pivots
# turning 60 degrees, 0.04-0.06 turning 45 or 75 degrees, where the other foot stepping round
# travelled 0.04-0.16). Squats gave at most one turn a clip (a squat at yaw 30 and a real squat).
PLANT_STILL = 0.08
# Knee range of motion, seated: a thigh level in the image (hip and knee heights within SEATED_THIGH
# body lengths) in at least SEATED_SHARE of the frames, the pelvis still (its height within
# SEATED_STILL over the clip's middle 90 %), and at least MIN_ROM_REPS reps of the knee-rom
# counter. The synthetic seated extensions filmed from the side and at 70 degrees read level in
# 96-100 % of their frames; squats from the side at most 14 % (a squat's thighs are level only at
# its bottoms), the real split squat 25 %, every other clip under 21 %. Reps whose knee stays in
# the far HOLD_RANGE_SHARE of their range for EXTENSION_HOLD_S or longer (median) may be the
# knee-extension exercise and its 5 s hold: unsure. The synthetic reps stay there 0.9-1.3 s, the
# same extension held 5 s 5.1-6.0 (a band of degrees would miss it: side-on the model's reading of
# a knee held straight wanders by 15 degrees and more).
SEATED_THIGH = 0.08
SEATED_SHARE = 0.8
SEATED_STILL = 0.05
MIN_ROM_REPS = 2
# Lying with the hip line this far above level (world landmarks) is lying on the side: the real
# heel slides lying on the back read 4 degrees (median), one hip straight above the other is 90.
ON_SIDE_HIP_RISE_DEG = 45.0
EXTENSION_HOLD_S = 3.0
HOLD_RANGE_SHARE = 0.35


@dataclass(frozen=True)
class Detection:
    name: str  # a tracker name, or "unsure"
    confidence: float  # 0-1: share of the evidence (reps, frames) that agrees
    reasons: list[str] = field(default_factory=list)


def _feet_moved(start: Metrics, bottom: Metrics) -> float:
    """How far the ankle that moved most travelled in the image from a rep's start to its bottom
    (one-frame metrics of each), in body lengths (NaN unknown)."""
    moves = [
        math.hypot(float(start.leg(s).ankle_x - bottom.leg(s).ankle_x), float(start.leg(s).ankle_y - bottom.leg(s).ankle_y))
        for s in SIDES
    ]
    return max(moves) / float(bottom.body_px) if all(math.isfinite(v) for v in moves) else math.nan


@dataclass
class _Evidence:
    """What the rules read of every frame, gathered in one walk over the session."""

    pose: np.ndarray  # a person with a known body size
    lean_deg: np.ndarray
    hip_rise: np.ndarray  # the world hip line's angle above level, degrees: near 90 lying on the side
    flexion_deg: np.ndarray  # the more bent knee
    lift: np.ndarray  # feet height difference, body lengths
    shorts: np.ndarray  # (n, 2): the squat counter's leg shortening, per leg in SIDES order
    body: np.ndarray  # body length, pixels
    ankle: np.ndarray  # (n, 2, 2): each ankle's image x, y in pixels, legs in SIDES order
    pelvis: np.ndarray  # (n, 2): mid-hip image x, y in pixels
    hips_apart: np.ndarray  # ankles' x distance in standing hip widths (the side-step tracker's)
    thigh_level: np.ndarray  # the more level thigh: |hip y - knee y|, body lengths
    squat: Tracker
    single_leg: Tracker
    side_step: Tracker  # the band-walk tracker: steps in both directions, both knees
    slide: Tracker
    pivot: Tracker
    rom: Tracker
    rom_flexion: np.ndarray  # (n, 2): the knee-rom tracker's reported flexion per leg, degrees
    fs: float


def _gather(frames: ReportFrames) -> _Evidence:
    from formcheck.trackers import tracker_class

    n = len(frames)
    ev = _Evidence(
        pose=np.zeros(n, dtype=bool),
        lean_deg=np.full(n, np.nan, dtype=np.float32),
        hip_rise=np.full(n, np.nan, dtype=np.float32),
        flexion_deg=np.full(n, np.nan, dtype=np.float32),
        lift=np.full(n, np.nan, dtype=np.float32),
        shorts=np.full((n, 2), np.nan, dtype=np.float32),
        body=np.full(n, np.nan, dtype=np.float32),
        ankle=np.full((n, 2, 2), np.nan, dtype=np.float32),
        pelvis=np.full((n, 2), np.nan, dtype=np.float32),
        hips_apart=np.full(n, np.nan, dtype=np.float32),
        thigh_level=np.full(n, np.nan, dtype=np.float32),
        rom_flexion=np.full((n, 2), np.nan, dtype=np.float32),
        fs=frames.fs,
        squat=tracker_class("squat")(),
        single_leg=tracker_class("single-leg-squat")(),
        side_step=tracker_class("band-walk")(),
        slide=tracker_class("adduction-slide")(),
        pivot=tracker_class("pivot")(),
        rom=tracker_class("knee-rom")(),
    )
    trackers = (ev.squat, ev.single_leg, ev.side_step, ev.slide, ev.pivot, ev.rom)
    for w in frames.chunks():
        m, sl = w.metrics, slice(w.lo, w.hi)
        for k in range(w.hi - w.lo):
            frame = m.at(k)
            for tracker in trackers:
                tracker.update(w.lo + k, frame)
            ev.shorts[w.lo + k] = [ev.squat._short.get(s, math.nan) for s in SIDES]
            ev.rom_flexion[w.lo + k] = [knee_readings(frame)[0][s] for s in SIDES]
        ev.pose[sl] = m.pose & np.isfinite(m.body_px)
        ev.lean_deg[sl] = np.abs(m.trunk_lean_deg)
        ev.hip_rise[sl] = m.hip_line_rise_deg
        ev.flexion_deg[sl] = np.fmax(m.left.flexion_deg, m.right.flexion_deg)
        ev.body[sl] = m.body_px
        for j, s in enumerate(SIDES):
            ev.ankle[sl, j, 0], ev.ankle[sl, j, 1] = m.leg(s).ankle_x, m.leg(s).ankle_y
        ev.pelvis[sl, 0], ev.pelvis[sl, 1] = (m.left.hip_x + m.right.hip_x) / 2, (m.left.hip_y + m.right.hip_y) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            ev.lift[sl] = np.abs(m.left.ankle_y - m.right.ankle_y) / m.body_px
            ev.hips_apart[sl] = np.abs(m.left.ankle_x - m.right.ankle_x) / m.hip_width_px
            ev.thigh_level[sl] = np.fmin(*(np.abs(m.leg(s).hip_y - m.leg(s).knee_y) / m.body_px for s in SIDES))
    for tracker in trackers:
        tracker.finish()
    return ev


def _rep_shapes(frames: ReportFrames, ev: _Evidence) -> list[str]:
    """For each rep the squat counter finds: 'squat', 'lunge', 'side-lunge' or 'unclear'."""
    tracker = ev.squat
    shapes = []
    for rep in tracker.state.reps:
        b = frames.metrics(rep.bottom_i, rep.bottom_i + 1).at(0)
        kh = [knee_height(b, s) for s in tracker.state.working_legs]
        sh = [float(ev.shorts[rep.bottom_i, SIDES.index(s)]) for s in tracker.state.working_legs]
        if not all(math.isfinite(v) for v in kh + sh):
            shapes.append("unclear")
            continue
        knee_ratio = min(kh) / max(kh) if max(kh) > 0 else 0.0
        leg_ratio = min(sh) / max(sh) if max(sh) > 0 else 0.0
        if knee_ratio > 0.7 and leg_ratio > 0.6:
            start = frames.metrics(rep.start_i, rep.start_i + 1).at(0)
            shapes.append("squat" if _feet_moved(start, b) <= SQUAT_FEET_MOVE else "unclear")
        elif leg_ratio < 0.35:  # one leg straight: a side lunge if both feet are on one floor
            shapes.append("side-lunge" if ev.lift[rep.bottom_i] <= FEET_LEVEL else "unclear")
        elif knee_ratio < 0.5:
            shapes.append("lunge")
        else:
            shapes.append("unclear")
    return shapes


def _named(ev: _Evidence, name: str, found: int, unqualified: int, what: str, reason: str) -> Detection:
    """`name` when the `found` events are at least EVIDENCE_SHARE of themselves, the tracker's
    `unqualified` others and the squat counter's bends; unsure otherwise."""
    bends = len(ev.squat.state.reps)
    others = unqualified + bends
    share = round(found / (found + others), 2) if found + others else 0.0
    reasons = [f"{reason}, {bends} bends"]
    if share < EVIDENCE_SHARE:
        return Detection(UNSURE, share, reasons + [f"{what} and other movements: say which exercise"])
    if name == UNSURE:
        return Detection(UNSURE, share, reasons + [f"{what}: say which exercise"])
    return Detection(name, share, reasons)


def _highest(x: np.ndarray) -> float:
    """The largest known value (infinite when none is known: not evidence of anything)."""
    known = x[np.isfinite(x)]
    return float(known.max()) if len(known) else math.inf


def _travels(ev: _Evidence, rep: RepWindow) -> bool:
    """A side step on which the feet and pelvis went STEP_TRAVEL its way, on one floor, level."""
    assert rep.step is not None
    a, b = rep.start_i, rep.end_i
    lead = SIDES.index(rep.step.direction)
    moves = np.array([ev.ankle[b, lead, 0] - ev.ankle[a, lead, 0], ev.ankle[b, 1 - lead, 0] - ev.ankle[a, 1 - lead, 0],
                      ev.pelvis[b, 0] - ev.pelvis[a, 0]]) / ev.body[a]  # fmt: skip
    height = ev.pelvis[a : b + 1, 1] / ev.body[a]
    with np.errstate(invalid="ignore"):
        return bool(
            (np.sign(moves[0]) * moves >= STEP_TRAVEL).all()
            and _highest(ev.lift[a : b + 1]) <= STEP_LIFT
            and _highest(height) + _highest(-height) <= STEP_LEVEL
        )


def _changes(seq: list) -> int:
    """How many times consecutive items differ (a direction or a leg changing)."""
    return int(sum(a != b for a, b in zip(seq, seq[1:])))


def _side_steps(ev: _Evidence) -> Detection | None:
    """band-walk or side-push from the side-step tracker's travelling steps (MIN_STEPS at least)."""
    steps = ev.side_step.state.reps
    travel = [r for r in steps if _travels(ev, r)]
    if len(travel) < MIN_STEPS:
        return None
    turns = _changes([r.step.direction for r in travel])  # type: ignore[union-attr]
    alternate = turns / (len(travel) - 1)
    name = "side-push" if alternate >= PUSH_ALTERNATE else "band-walk" if alternate <= WALK_ALTERNATE else UNSURE
    return _named(ev, name, len(travel), len(steps) - len(travel), "side pushes or a band walk",
                  f"{len(travel)} of {len(steps)} sideways steps travelled with the feet on the floor, "
                  f"{turns} change{'s' * (turns != 1)} of direction")


def _slides(ev: _Evidence) -> Detection | None:
    """adduction-slide from the slide tracker's slides that start in the side-lunge position."""
    slides = ev.slide.state.reps
    held = [r for r in slides if ev.lift[r.start_i] <= FEET_LEVEL and ev.hips_apart[r.start_i] >= SLIDE_APART]
    if len(held) < MIN_EVENTS:
        return None
    # Between two side pushes the foot that followed in steps back out: a slide to the slide
    # tracker. Travelling steps are other movements here, whichever rule looks first.
    travel = sum(_travels(ev, r) for r in ev.side_step.state.reps)
    return _named(ev, "adduction-slide", len(held), len(slides) - len(held) + travel, "slides",
                  f"{len(held)} of {len(slides)} foot slides from the side-lunge position, {travel} travelling sideways steps")


def _bounds(ev: _Evidence) -> Detection | None:
    """Single-leg bends with the body travelling sideways between them (MIN_EVENTS moves of
    BEND_TRAVEL at least; None with fewer: done in place). side-push when they are most of the
    moves and both the direction and the standing leg change every time (lateral bounds landing on
    the leading leg); unsure otherwise (hops on one leg from side to side, say)."""
    reps = ev.single_leg.state.reps
    body = float(np.median(ev.body[ev.pose]))
    moves = np.diff(ev.pelvis[[r.bottom_i for r in reps], 0]) / body if len(reps) > 1 else np.zeros(0)
    with np.errstate(invalid="ignore"):
        travel = moves[np.abs(moves) >= BEND_TRAVEL]
    if len(travel) < MIN_EVENTS:
        return None
    turns = _changes(list(np.sign(travel)))
    legs = [r.legs[0] if len(r.legs) == 1 else None for r in reps]
    share = round(len(travel) / len(moves), 2)
    reasons = [f"one foot off the floor in most frames, {len(reps)} single-leg bends, {len(travel)} moves "
               f"sideways between them, {turns} change{'s' * (turns != 1)} of direction"]
    if (share >= EVIDENCE_SHARE and turns / (len(travel) - 1) >= PUSH_ALTERNATE
            and None not in legs and _changes(legs) / (len(legs) - 1) >= PUSH_ALTERNATE):
        return Detection("side-push", share, reasons)
    return Detection(UNSURE, share, reasons + ["single-leg bends that travel sideways: say which exercise"])


def _planted(ev: _Evidence, rep: RepWindow) -> bool:
    """The pivot's planted ankle stayed within PLANT_STILL body lengths through the turn."""
    assert rep.plant is not None
    a, b = rep.plant.turn_start_i, rep.end_i
    foot = ev.ankle[a : b + 1, SIDES.index(rep.plant.leg)]
    return _highest(np.hypot(*(foot - foot[0]).T) / ev.body[a]) <= PLANT_STILL


def _pivots(ev: _Evidence) -> Detection | None:
    turns = ev.pivot.state.reps
    pivots = [r for r in turns if _planted(ev, r)]
    if len(pivots) < MIN_EVENTS:
        return None
    return _named(ev, "pivot", len(pivots), len(turns) - len(pivots), "pivots",
                  f"{len(pivots)} of {len(turns)} turns of the shoulders on a planted foot")


def _far_end_hold_s(ev: _Evidence, rep: RepWindow) -> float:
    """How long a moving knee stayed within HOLD_RANGE_SHARE of the rep's range of its far end:
    the longest over the legs whose reading spans at least half what the most moving one's does
    (side-on the model may credit the other leg, and loses each leg now and then)."""
    legs = ev.rom_flexion[rep.start_i : rep.end_i + 1].T
    known = [v[np.isfinite(v)] for v in legs]
    spans = [float(np.ptp(v)) if len(v) else 0.0 for v in known]
    held = 0
    for v, k, span in zip(legs, known, spans):
        if span > 0 and span >= max(spans) / 2:
            far = k[np.argmax(np.abs(k - k[0]))]
            with np.errstate(invalid="ignore"):
                held = max(held, int(np.sum(np.abs(v - far) <= HOLD_RANGE_SHARE * abs(far - k[0]))))
    return held / ev.fs


def _seated_rom(ev: _Evidence) -> Detection | None:
    """knee-rom seated: thighs level, the pelvis still, the knee bending and straightening."""
    pose = ev.pose
    level = float(np.mean(ev.thigh_level[pose] <= SEATED_THIGH))
    if level < SEATED_SHARE:
        return None
    height = ev.pelvis[pose, 1].astype(np.float64) / float(np.median(ev.body[pose]))  # one yardstick: a leg's length changes
    still = float(np.nanpercentile(height, 95) - np.nanpercentile(height, 5))
    reps = len(ev.rom.state.reps)
    holds = [_far_end_hold_s(ev, r) for r in ev.rom.state.reps]
    reasons = [f"seated (a thigh level in {level:.0%} of frames), {reps} knee bends and straightenings"]
    if still > SEATED_STILL or reps < MIN_ROM_REPS:
        return Detection(UNSURE, 0.5, reasons + ["seated, but no knee range of motion: say which exercise"])
    if holds and float(np.median(holds)) >= EXTENSION_HOLD_S:
        return Detection(UNSURE, 0.5, reasons + [f"the straight knee held {float(np.median(holds)):.0f} s: "
                                                 "knee extension or range of motion, say which"])  # fmt: skip
    return Detection("knee-rom", round(level, 2), reasons)


def flight_heights(frames: ReportFrames) -> np.ndarray:
    """For each landing the hop tracker finds, on frames that keep fast moves (not despiked), how
    high the whole body flew before it: the most that the pelvis and both ankles were all above
    where they stood, within FLIGHT_LOOK_S before the landing, in standing body lengths (NaN
    unknown; an ankle unseen, as a one-leg hop's free foot held behind the other leg often is,
    is left out). Each ankle against its own standing height, so a foot resting on a step (a
    step-down: the other foot dips to the floor and comes back) is not taken for a flight."""
    from formcheck.trackers import tracker_class

    hop = tracker_class("hop")()
    n = len(frames)
    pelvis, body, flexion = (np.full(n, np.nan) for _ in range(3))
    ankles = np.full((n, 2), np.nan)
    for w in frames.chunks():
        m, sl = w.metrics, slice(w.lo, w.hi)
        for k in range(w.hi - w.lo):
            hop.update(w.lo + k, m.at(k))
        pelvis[sl] = (m.left.hip_y + m.right.hip_y) / 2
        ankles[sl, 0], ankles[sl, 1] = m.left.ankle_y, m.right.ankle_y
        body[sl], flexion[sl] = m.body_px, np.fmax(m.left.flexion_deg, m.right.flexion_deg)
    hop.finish()
    with np.errstate(invalid="ignore"):
        standing = np.isfinite(pelvis) & np.isfinite(body) & (flexion <= STANDING_MAX_FLEXION_DEG)
    if standing.sum() < 5:
        return np.zeros(0)
    feet = np.nanmedian(ankles[standing], axis=0) - ankles
    up = np.minimum(np.median(pelvis[standing]) - pelvis, np.fmin(feet[:, 0], feet[:, 1]))
    up /= np.median(body[standing])  # image y grows down; NaN where the pelvis or both ankles are unknown
    look = max(1, round(FLIGHT_LOOK_S * frames.fs))
    before = [up[max(0, r.start_i - look) : r.start_i] for r in hop.state.reps]
    return np.array([float(np.max(w[np.isfinite(w)])) if np.isfinite(w).any() else np.nan for w in before])


def _lying(ev: _Evidence, lying: float) -> Detection:
    """Lying down: on the side (one hip above the other) is side-lying hip work, bent knees a
    clamshell; on the back, the knee bending and straightening is knee range of motion (heel
    slides), anything else unsure."""
    rise = ev.hip_rise[ev.pose & (ev.lean_deg > 60)]
    rise = rise[np.isfinite(rise)]
    on_side = float(np.mean(rise > ON_SIDE_HIP_RISE_DEG)) if rise.size else 0.0
    if on_side > 0.5:
        name = "clamshell" if np.nanmedian(ev.flexion_deg[ev.pose]) > 50 else "side-lying-leg-raise"
        return Detection(name, round(lying * on_side * 0.8, 2), [f"lying on the side in {lying * on_side:.0%} of frames"])
    reps = len(ev.rom.state.reps)
    reasons = [f"lying on the back in {lying * (1 - on_side):.0%} of frames, {reps} knee bends"]
    if reps >= MIN_ROM_REPS:
        return Detection("knee-rom", round(lying * (1 - on_side), 2), reasons)
    return Detection(UNSURE, round(lying * (1 - on_side), 2), reasons + ["lying on the back: say which exercise"])


def detect_exercise(frames: ReportFrames, flights: ReportFrames | None = None) -> Detection:
    """`flights`: the same recording without despiking, where hops' flights survive (None: hops
    are not looked for)."""
    ev = _gather(frames)
    pose = ev.pose
    if pose.sum() < 10:
        return Detection(UNSURE, 0.0, ["too few frames with a person"])
    heights = flight_heights(flights) if flights is not None else np.zeros(0)
    with np.errstate(invalid="ignore"):
        hops, jumps = int(np.sum(heights >= FLIGHT_RISE)), int(np.sum(heights >= JUMP_RISE))
    if hops >= MIN_HOPS:
        bends = len(ev.squat.state.reps)
        share = hops / max(hops, bends)
        reasons = [f"{hops} landings after the whole body left the floor, {bends} bends"]
        if share >= HOP_SHARE:
            return Detection("hop", round(share, 2), reasons)
        return Detection(UNSURE, round(share, 2), reasons + ["hops and other bends: say which exercise"])
    if jumps:
        return Detection(UNSURE, 0.5, [f"{hops} landing{'s' * (hops != 1)} after the whole body left the floor, the "
                                       f"highest flight {np.nanmax(heights):.2f} body lengths: a jump, not a squat",
                                       f"fewer than {MIN_HOPS} landings to call it hopping: say which exercise"])  # fmt: skip
    lean = ev.lean_deg[pose]
    lying = float(np.nanmean(lean > 60)) if np.isfinite(lean).any() else 0.0
    if lying > 0.6:
        return _lying(ev, lying)
    seated = _seated_rom(ev)
    if seated is not None:
        return seated
    lift = ev.lift[pose]
    raised = float(np.mean(lift > FEET_LEVEL))  # feet at different heights (a step, a split stance)
    lifted = float(np.mean(lift > FOOT_OFF_FLOOR))
    if lifted > 0.5:
        bounds = _bounds(ev)
        if bounds is not None:
            return bounds
        bends = len(ev.single_leg.state.reps)
        if bends >= 3 and lifted > 0.75:
            return Detection("single-leg-squat", round(lifted, 2), [f"one foot off the floor in {lifted:.0%} of frames, {bends} single-leg bends"])
        if bends == 0:
            return Detection("balance", round(lifted, 2), [f"one foot off the floor in {lifted:.0%} of frames, no bends"])
        return Detection(UNSURE, 0.5, [f"one foot off the floor in {lifted:.0%} of frames, {bends} bends: balance or single-leg squat"])
    for rule in (_side_steps, _slides, _pivots):
        found = rule(ev)
        if found is not None:
            return found
    shapes = _rep_shapes(frames, ev)
    if not shapes:
        return Detection(UNSURE, 0.0, ["no repetitions of a squat, lunge or side lunge were found"])
    best = max(set(shapes), key=shapes.count)
    share = shapes.count(best) / len(shapes)
    reasons = [f"{shapes.count(best)} of {len(shapes)} reps look like a {best}"]
    if best == "unclear" or share < MIN_CONFIDENCE or (best in ("squat", "side-lunge") and raised > 0.3):
        return Detection(UNSURE, round(share, 2), reasons + ["the reps do not agree on one exercise"])
    if hops:
        return Detection(UNSURE, 0.5, reasons + [f"{hops} landing{'s' * (hops != 1)} after the whole body left the floor (the "
                                                 f"highest flight {np.nanmax(heights):.3f} body lengths): jumps among the reps, "
                                                 "say which exercise"])  # fmt: skip
    return Detection(best, round(share, 2), reasons)
