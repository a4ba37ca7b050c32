"""The synthetic sample sets: the full benchmark ("standard"), the few clips in the repo ("committed")
and the rehab-programme exercises again under other cameras, legs and bodies ("variants").

`formcheck samples --out DIR` calls `make_samples`. Every clip is fully determined by its
ClipSpec (seeded), so the sets are reproducible; each clip gets `<clip>.truth.json` beside it
(see formcheck.synth.truth for what the truth means).

Valgus reps are asked for by the frontal peak FPPA they should show (VALGUS_LEVELS_DEG), not by
a shift in metres, so "clear valgus" means the same thing for every exercise; clean reps have
no shift. Clips filmed at 15 or 30 degrees of camera yaw keep the same knee motion, so their
labels stay true while their image angles drift, as a real camera's would.
"""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from formcheck.core.landmarks import Side
from formcheck.synth.appearance import Appearance
from formcheck.synth.body import BodyShape
from formcheck.synth.camera import Camera
from formcheck.synth.clip import ClipSpec, write_clip
from formcheck.synth.motion import EXERCISES, MotionParams
from formcheck.synth.valgus import shift_plan

log = logging.getLogger(__name__)

VALGUS_LEVELS_DEG = {"mild": 18.0, "clear": 26.0}
SETS = ("standard", "committed", "variants")
L, R = Side.LEFT, Side.RIGHT

Progress = Callable[[int, int, str], None]


def _with_valgus(spec: ClipSpec, caving: list[tuple[Side, ...]], level: str) -> ClipSpec:
    """The spec with medial shifts that give `caving` reps the level's frontal peak FPPA."""
    plan = shift_plan(spec.motion, spec.body, spec.camera, caving, VALGUS_LEVELS_DEG[level])
    return replace(spec, motion=replace(spec.motion, medial_shift_m=plan))


def committed_specs() -> list[ClipSpec]:
    """The small set kept in sample_videos/ (about 2 MB): one clip per main use."""
    small = dict(width=480, height=360)
    specs = [
        _with_valgus(ClipSpec(
            "squat_front",
            MotionParams(exercise="squat", reps=5, depth_deg=75.0, tempo_s=2.2, rest_s=0.3, lead_in_s=1.6,
                         tail_s=0.5, stance_width_m=0.30, toe_out_deg=8.0),
            Camera(yaw_deg=0.0, height_m=0.55, **small),
            Appearance(skin="medium", hair="brown", shirt="red", trousers="navy", shoes="white", background="room",
                       noise_sigma=1.0),
            seed=11), [(), (R,), (), (R,), (R,)], "clear"),
        ClipSpec(
            "squat_front_clean",
            MotionParams(exercise="squat", reps=2, depth_deg=80.0, tempo_s=2.2, rest_s=0.3, lead_in_s=1.6,
                         tail_s=0.5, arms="forward"),
            Camera(yaw_deg=0.0, height_m=0.75, **small),
            Appearance(skin="dark", hair="black", shirt="white", trousers="black", shoes="red", background="plain",
                       noise_sigma=1.0),
            BodyShape(height_m=1.80, girth=1.1), seed=12),
        _with_valgus(ClipSpec(
            "stepdown_front",
            MotionParams(exercise="step-down", reps=2, depth_deg=65.0, tempo_s=2.4, rest_s=0.3, lead_in_s=1.6,
                         tail_s=0.5, working_leg=R),
            Camera(yaw_deg=0.0, height_m=0.6, **small),
            Appearance(skin="light", hair="blond", shirt="green", trousers="grey", shoes="black", background="room",
                       noise_sigma=1.0),
            BodyShape(height_m=1.65, leg_ratio=1.03), seed=13), [(), (R,)], "clear"),
        _with_valgus(ClipSpec(
            "lunge_front",
            MotionParams(exercise="lunge", reps=2, depth_deg=85.0, tempo_s=2.6, rest_s=0.3, lead_in_s=1.6,
                         tail_s=0.5, working_leg=L),
            Camera(yaw_deg=0.0, height_m=0.6, **small),
            Appearance(skin="tan", hair="black", shirt="yellow", trousers="navy", shoes="white", background="plain",
                       noise_sigma=1.0),
            seed=14), [(), (L,)], "clear"),
        ClipSpec(
            "balance_front",
            MotionParams(exercise="balance", working_leg=R, hold_s=5.0, touchdowns_s=(2.5,), lead_in_s=1.6,
                         tail_s=0.5, arms="sides"),
            Camera(yaw_deg=0.0, height_m=0.6, **small),
            Appearance(skin="medium", hair="grey", shirt="purple", trousers="khaki", shoes="black",
                       background="room", noise_sigma=1.0),
            BodyShape(height_m=1.70, shoulder_ratio=0.95), seed=15),
    ]
    return specs


def _caving_pattern(exercise: str, reps: int, k: int, working: Side) -> list[tuple[Side, ...]]:
    """Which reps cave: alternating clean/valgus, starting clean, on the working leg
    (squats: one leg, or both on every third clip)."""
    legs: tuple[Side, ...] = (working,)
    if exercise == "squat" and k % 3 == 2:
        legs = (L, R)
    return [legs if i % 2 == 1 else () for i in range(reps)]


# Valgus level (1 = clear) and yaw sign (1 = negative) of the standard set, per (exercise + 2 yaw) % 6.
_LEVEL_CYCLE = (0, 0, 1, 1, 1, 0)
_SIGN_CYCLE = (0, 1, 1, 0, 0, 1)


def standard_specs() -> list[ClipSpec]:
    """The benchmark: every exercise at camera yaw 0/15/30, with heights, tempos, bodies,
    clothes, backgrounds and valgus levels varied across clips.

    The factors are crossed, not stepped together, so each breakdown of the benchmark measures
    its own factor: within an exercise the three yaws get three different camera heights and
    tempos (a Latin square, rotated by one step per exercise for heights and by two for tempos),
    so over the six rep exercises every yaw sees every height and every tempo twice, and every
    height-tempo pair occurs equally often. Working leg, valgus level and the sign of the yaw (which leg is nearer the camera) are
    binary: the leg follows k % 2, the level and the sign follow two 6-cycles indexed by
    (exercise + 2 yaw) % 6, so at every yaw each takes each value on three of the six rep
    exercises, and no two of them move together (each pair agrees on 2 or 4 of 6).
    """
    rng = np.random.default_rng(2024)
    heights = (0.5, 0.8, 1.1)
    tempos = (2.0, 2.6, 3.4)
    specs: list[ClipSpec] = []
    k = 0
    for e, ex in enumerate(EXERCISES):
        for y, yaw in enumerate((0.0, 15.0, 30.0)):
            working = (R, L)[k % 2]
            j = (e + 2 * y) % 6
            level = ("mild", "clear")[_LEVEL_CYCLE[j]]
            yaw_sign = -1 if _SIGN_CYCLE[j] else 1
            look = Appearance.random(rng, noise_sigma=float(rng.choice([0.0, 1.5, 3.0])),
                                     motion_blur=bool(k % 4 == 3))
            body = BodyShape(height_m=float(rng.uniform(1.55, 1.92)), leg_ratio=float(rng.uniform(0.95, 1.05)),
                             shoulder_ratio=float(rng.uniform(0.9, 1.1)), girth=float(rng.uniform(0.9, 1.2)))
            cam = Camera(yaw_deg=yaw * yaw_sign if yaw else 0.0, height_m=heights[(y + e) % 3],
                         distance_m=float(rng.choice([2.5, 3.0, 3.5])))
            motion = MotionParams(
                exercise=ex, reps=4, tempo_s=tempos[(y + 2 * e) % 3], rest_s=float(rng.choice([0.4, 0.8, 1.2])),
                working_leg=working, alternate=ex in ("lunge", "side-lunge") and k % 2 == 1,
                depth_deg={"squat": 85.0, "lunge": 85.0, "side-lunge": 75.0}.get(ex, 65.0),
                stance_width_m=float(rng.uniform(0.26, 0.40)), toe_out_deg=float(rng.uniform(3.0, 14.0)),
                arms=str(rng.choice(["hips", "sides", "forward"])) if ex != "balance" else "out",
                hold_s=10.0, touchdowns_s=(3.0, 7.0) if k % 2 else (5.0,),
            )
            name = f"{ex.replace('-', '')}_yaw{int(abs(yaw)):02d}_h{int(round(cam.height_m * 100)):03d}"
            if ex != "balance":  # a hold has no tempo and no valgus level
                name += f"_t{int(round(motion.tempo_s * 10)):02d}_{level}"
            spec = ClipSpec(name, motion, cam, look, body, seed=1000 + k)
            if ex != "balance":
                if motion.alternate:
                    caving = [(working if i % 2 == 0 else working.other,) if i in (2, 3) else () for i in range(4)]
                else:
                    caving = _caving_pattern(ex, motion.reps, k, working)
                spec = _with_valgus(spec, caving, level)
            specs.append(spec)
            k += 1
    # A few extra views of the squat, the exercise with most clinical use: far, near, high camera.
    base = specs[0]
    for name, cam in (("squat_far_4m", replace(base.camera, distance_m=4.0)),
                      ("squat_near_2m", replace(base.camera, distance_m=2.0, frame_height_m=2.3)),
                      ("squat_high_cam", replace(base.camera, height_m=1.5))):
        specs.append(replace(base, name=name, camera=cam, seed=base.seed + 500))
    specs.append(knee_rom_spec())
    specs.append(hop_spec())
    specs.append(hop_forward_back_spec())
    specs.append(hop_side_spec())
    specs.append(hop_one_leg_spec())
    specs.append(hop_one_leg_forward_back_spec())
    specs.append(band_walk_spec())
    specs.append(side_push_spec())
    specs.append(adduction_slide_spec())
    specs.append(pivot_spec())
    specs.extend(balance_progression_specs())
    return specs


def balance_progression_specs() -> list[ClipSpec]:
    """Balance progressions filmed from the front, a 10 s hold on the right leg each: on tiptoes
    (the heel raised by a 20-degree toe-down pitch), with three head turns of 60 degrees (left,
    right, left), and with three reaches of the free leg 40 degrees out to its side (truth: the
    progression's name, the heel's rise, each turn and each reach's distance)."""
    common = dict(exercise="balance", working_leg=R, hold_s=10.0, touchdowns_s=(), lead_in_s=1.6, tail_s=1.0,
                  arms="hips")
    cam = Camera(height_m=0.6, distance_m=3.0)
    return [
        ClipSpec("balancetiptoes_front", MotionParams(**common, tiptoe_deg=20.0), cam,
                 Appearance(skin="light", hair="brown", shirt="blue", trousers="black", shoes="white",
                            background="plain", noise_sigma=1.0), seed=27),
        ClipSpec("balanceheadturns_front", MotionParams(**common, head_turns_s=(1.5, 4.0, 6.5)), cam,
                 Appearance(skin="tan", hair="black", shirt="red", trousers="navy", shoes="white", background="room",
                            noise_sigma=1.0), seed=28),
        ClipSpec("balancereaches_front", MotionParams(**common, reaches_s=(1.5, 4.0, 6.5)), cam,
                 Appearance(skin="medium", hair="grey", shirt="green", trousers="grey", shoes="black",
                            background="plain", noise_sigma=1.0), seed=29),
    ]


def pivot_spec() -> ClipSpec:
    """Pivots filmed from the front: four times the right foot steps forward and lands (knee 25
    degrees, loading to 40), and the body turns 60 degrees away from it (to the left) while the left
    foot steps round, then back; the planted knee caves at the plant on pivots 2 and 4 (truth: each
    plant's frame, FPPA there and over 0.2 s, and the trunk turn)."""
    caving = [(), (R,), (), (R,)]
    return _with_valgus(ClipSpec(
        "pivot_front",
        MotionParams(exercise="pivot", reps=4, depth_deg=40.0, plant_deg=25.0, turn_deg=60.0, lead_in_s=1.6,
                     tail_s=1.0, working_leg=R, toe_out_deg=8.0, arms="sides"),
        Camera(height_m=0.6, distance_m=3.2),
        Appearance(skin="medium", hair="black", shirt="red", trousers="grey", shoes="white", background="plain",
                   noise_sigma=1.0),
        seed=26), caving, "clear")


def adduction_slide_spec() -> ClipSpec:
    """Hip adduction slides filmed from the front: the right knee bent (50 degrees with the foot out,
    25 with it in), the left foot sliding 0.30 m in and back five times; the bent knee caves over
    slides 2 and 5 (truth: each slide's start, closest frame and range in straight-leg lengths)."""
    caving = [(), (R,), (), (), (R,)]
    return _with_valgus(ClipSpec(
        "adductionslide_front",
        MotionParams(exercise="adduction-slide", reps=5, depth_deg=50.0, slide_in_deg=25.0, slide_m=0.30,
                     tempo_s=2.4, rest_s=0.8, lead_in_s=1.6, tail_s=1.0, working_leg=R, toe_out_deg=8.0,
                     arms="hips"),
        Camera(height_m=0.6, distance_m=3.2),
        Appearance(skin="light", hair="brown", shirt="green", trousers="navy", shoes="white", background="room",
                   noise_sigma=1.0),
        seed=25), caving, "clear")


def band_walk_spec() -> ClipSpec:
    """Band side-shuffle filmed from the front: four steps to the person's right then four back,
    crossing the frame; the trailing foot closes in too far on steps 3 and 7 (the band slack), the
    trailing knee caves at push-off on step 2 and both knees on step 6 (truth: each step's push-off,
    narrowest ankle distance and direction)."""
    caving = [(), (L,), (), (), (), (L, R), (), ()]
    return _with_valgus(ClipSpec(
        "bandwalk_front",
        MotionParams(exercise="band-walk", reps=8, depth_deg=40.0, lead_in_s=1.6, tail_s=1.0, rest_s=0.35,
                     stance_width_m=0.27, step_m=0.30, narrow_steps=(2, 6), narrow_gap_m=0.08, working_leg=R,
                     toe_out_deg=6.0, arms="hips"),
        Camera(height_m=0.6, distance_m=3.2),
        Appearance(skin="tan", hair="brown", shirt="yellow", trousers="black", shoes="white", background="plain",
                   noise_sigma=1.0),
        seed=23), caving, "clear")


def side_push_spec() -> ClipSpec:
    """Side pushes filmed from the front: six big steps side to side (0.45 m), the first pushed off
    the right leg; the pushing knee caves at push-off on pushes 2 (left) and 5 (right)."""
    caving = [(), (L,), (), (), (R,), ()]
    return _with_valgus(ClipSpec(
        "sidepush_front",
        MotionParams(exercise="side-push", reps=6, depth_deg=35.0, lead_in_s=1.6, tail_s=1.0, rest_s=0.5,
                     stance_width_m=0.25, step_m=0.45, working_leg=R, toe_out_deg=6.0, arms="sides"),
        Camera(height_m=0.6, distance_m=3.2),
        Appearance(skin="dark", hair="black", shirt="blue", trousers="grey", shoes="red", background="room",
                   noise_sigma=1.0),
        seed=24), caving, "clear")


def hop_spec() -> ClipSpec:
    """Hops: six double-leg hops on the spot filmed from the front, both knees caving clearly on
    the second and fifth landings (truth: each landing's contact and take-off frames)."""
    return _with_valgus(ClipSpec(
        "hop_front",
        MotionParams(exercise="hop", reps=6, depth_deg=45.0, lead_in_s=1.6, tail_s=1.0, stance_width_m=0.30,
                     toe_out_deg=7.0, arms="sides"),
        Camera(height_m=0.6, distance_m=3.0),
        Appearance(skin="light", hair="black", shirt="green", trousers="navy", shoes="white", background="plain",
                   noise_sigma=1.0),
        seed=22), [() if i not in (1, 4) else (L, R) for i in range(6)], "clear")


def hop_forward_back_spec() -> ClipSpec:
    """Forward/back hops: six double-leg hops over a line, alternately 0.35 m toward the camera and
    back, filmed from the front by a camera 1.0 m up (a laptop on a table), so every other landing
    is nearer and lower in the image than the take-off; both knees cave clearly on the third and
    fourth landings (one forward, one back)."""
    return _with_valgus(ClipSpec(
        "hop_fwdback_front",
        MotionParams(exercise="hop", reps=6, depth_deg=45.0, lead_in_s=1.6, tail_s=1.0, stance_width_m=0.32,
                     toe_out_deg=9.0, arms="sides", hop_travel_m=0.35),
        Camera(height_m=1.0, distance_m=3.2),
        Appearance(skin="medium", hair="brown", shirt="red", trousers="khaki", shoes="black", background="plain",
                   noise_sigma=1.0),
        BodyShape(1.74),
        seed=26), [() if i not in (2, 3) else (L, R) for i in range(6)], "clear")


def hop_side_spec() -> ClipSpec:
    """Side-to-side hops: six double-leg hops over a line, alternately 0.30 m to the person's left
    and back, filmed from the front; the left knee caves on the second landing and the right on the
    fifth (one knee at a time: the verdict is per leg)."""
    return _with_valgus(ClipSpec(
        "hop_side_front",
        MotionParams(exercise="hop", reps=6, depth_deg=45.0, lead_in_s=1.6, tail_s=1.0, stance_width_m=0.30,
                     toe_out_deg=8.0, arms="sides", hop_travel_m=0.30, hop_sideways=True),
        Camera(height_m=0.7, distance_m=3.2),
        Appearance(skin="dark", hair="black", shirt="white", trousers="navy", shoes="red", background="room",
                   noise_sigma=1.0),
        BodyShape(1.68),
        seed=30), [(L,) if i == 1 else (R,) if i == 4 else () for i in range(6)], "clear")


def hop_one_leg_spec() -> ClipSpec:
    """One-leg hops: five hops on the spot on the right leg, the left foot held up behind, filmed
    from the front; the right knee caves on the second and fourth landings."""
    return _with_valgus(ClipSpec(
        "hop_oneleg_front",
        MotionParams(exercise="hop", reps=5, depth_deg=40.0, lead_in_s=1.6, tail_s=1.0, stance_width_m=0.26,
                     toe_out_deg=6.0, arms="hips", working_leg=R, hop_single_leg=True),
        Camera(height_m=0.6, distance_m=3.0),
        Appearance(skin="medium", hair="brown", shirt="yellow", trousers="black", shoes="white", background="plain",
                   noise_sigma=1.0),
        BodyShape(1.78),
        seed=31), [(R,) if i in (1, 3) else () for i in range(5)], "clear")


def hop_one_leg_forward_back_spec() -> ClipSpec:
    """One-leg hops forward and back: six hops on the left leg over a line, alternately 0.30 m
    toward a camera 1.0 m up and back, the right foot held up behind; every other landing is
    farther from the camera and higher in the image than its take-off. The left knee caves on the
    second landing (away) and the third (toward)."""
    return _with_valgus(ClipSpec(
        "hop_oneleg_fwdback_front",
        MotionParams(exercise="hop", reps=6, depth_deg=40.0, lead_in_s=1.6, tail_s=1.0, stance_width_m=0.28,
                     toe_out_deg=8.0, arms="sides", working_leg=L, hop_single_leg=True, hop_travel_m=0.30),
        Camera(height_m=1.0, distance_m=3.2),
        Appearance(skin="light", hair="blond", shirt="blue", trousers="grey", shoes="black", background="room",
                   noise_sigma=1.0),
        BodyShape(1.70),
        seed=32), [(L,) if i in (1, 2) else () for i in range(6)], "clear")


def knee_rom_spec() -> ClipSpec:
    """Knee range of motion: seated knee extension filmed from the working (near) leg's side, four
    reps straightening to different angles, so each rep's range has its own truth."""
    return ClipSpec(
        "kneerom_side",
        MotionParams(exercise="knee-rom", reps=4, depth_deg=95.0, extension_deg=(10.0, 25.0, 5.0, 40.0), tempo_s=3.0,
                     rest_s=0.8, lead_in_s=1.6, tail_s=0.8, working_leg=L, toe_out_deg=0.0),
        Camera(yaw_deg=90.0, height_m=0.5, distance_m=2.5, look_at_m=0.7, frame_height_m=1.6),
        Appearance(skin="medium", hair="brown", shirt="blue", trousers="black", shoes="white", background="plain",
                   noise_sigma=1.0),
        seed=21)


def variant_specs() -> list[ClipSpec]:
    """The issue-17 exercises again, each twice or more with another camera (yaw, height,
    distance), working leg, size of movement, body and clothes, all clean: a check that what was
    read on the one standard clip of each (`--exercise auto`'s rules, the trackers' settings)
    holds beyond it. Knee range of motion also filmed from the right side, at 70 degrees and from
    the front, and once with the straight knee held 5 s at each rep's top (a knee extension's
    hold, which `auto` should not call range of motion)."""
    rng = np.random.default_rng(17)

    def variant(base: ClipSpec, name: str, camera: Camera, body: BodyShape, seed: int, look: Appearance | None = None,
                **motion) -> ClipSpec:
        return replace(base, name=name, motion=replace(base.motion, medial_shift_m=(), **motion), camera=camera,
                       look=look or Appearance.random(rng, noise_sigma=1.5), body=body, seed=seed)

    walk, push, slide, pivot, rom = band_walk_spec(), side_push_spec(), adduction_slide_spec(), pivot_spec(), knee_rom_spec()
    seated = dict(look_at_m=0.7, frame_height_m=1.6)
    return [
        variant(walk, "bandwalk_yaw20_left", Camera(yaw_deg=20, height_m=1.0, distance_m=3.5), BodyShape(1.60, girth=1.15),
                101, working_leg=L, step_m=0.25, depth_deg=30.0, reps=6, narrow_steps=()),
        variant(walk, "bandwalk_yawm15", Camera(yaw_deg=-15, height_m=0.5, distance_m=3.2), BodyShape(1.88, leg_ratio=1.04),
                102, step_m=0.35, rest_s=0.6, arms="sides", narrow_steps=()),
        variant(push, "sidepush_yaw20_left", Camera(yaw_deg=20, height_m=1.0, distance_m=3.5), BodyShape(1.62, girth=1.1),
                103, working_leg=L, step_m=0.35, depth_deg=25.0),
        variant(push, "sidepush_yawm15", Camera(yaw_deg=-15, height_m=0.5, distance_m=3.4), BodyShape(1.85), 104,
                step_m=0.50, reps=8, arms="hips"),
        variant(slide, "adductionslide_yaw15_left", Camera(yaw_deg=15, height_m=0.9, distance_m=3.2),
                BodyShape(1.66, girth=1.1), 105, working_leg=L, slide_m=0.25, depth_deg=60.0),
        variant(slide, "adductionslide_yawm20", Camera(yaw_deg=-20, height_m=0.5, distance_m=3.0), BodyShape(1.84), 106,
                slide_m=0.35, depth_deg=40.0, reps=4),
        variant(pivot, "pivot_yaw10_left_turn45", Camera(yaw_deg=10, height_m=0.6, distance_m=3.2), BodyShape(1.64), 107,
                working_leg=L, turn_deg=45.0),
        variant(pivot, "pivot_yawm10_turn75", Camera(yaw_deg=-10, height_m=1.0, distance_m=3.5), BodyShape(1.86, girth=1.1),
                108, turn_deg=75.0, reps=3),
        variant(rom, "kneerom_rightside", Camera(yaw_deg=-90, height_m=0.8, distance_m=3.0, look_at_m=0.7, frame_height_m=1.8),
                BodyShape(1.80), 109, working_leg=R),
        variant(rom, "kneerom_yaw70", Camera(yaw_deg=70, height_m=0.5, distance_m=2.6, **seated), BodyShape(1.60), 110,
                extension_deg=(0.0, 20.0, 30.0), reps=3),
        variant(rom, "kneerom_front", Camera(yaw_deg=0, height_m=0.5, distance_m=2.6, **seated), BodyShape(1.72), 111,
                working_leg=R),
        # in the standard clip's clothes: the question here is the hold, not the look
        variant(rom, "kneerom_hold5s_side", Camera(yaw_deg=80, height_m=0.5, distance_m=2.5, **seated), BodyShape(1.70), 112,
                look=rom.look, extension_deg=(5.0,), extension_hold_s=5.0),
    ]


def specs_for(which: str) -> list[ClipSpec]:
    if which == "standard":
        return standard_specs()
    if which == "committed":
        return committed_specs()
    if which == "variants":
        return variant_specs()
    raise ValueError(f"unknown sample set {which!r}; one of {', '.join(SETS)}")


def make_samples(out_dir: pathlib.Path, which: str = "standard", progress: Progress | None = None) -> list[pathlib.Path]:
    """Render the `which` set into `out_dir`; returns the video paths (truth JSON beside each)."""
    specs = specs_for(which)
    out_dir = pathlib.Path(out_dir)
    paths = []
    for i, spec in enumerate(specs):
        log.info("rendering %s (%d/%d)", spec.name, i + 1, len(specs))
        paths.append(write_clip(spec, out_dir))
        if progress is not None:
            progress(i + 1, len(specs), spec.name)
    if which == "committed":
        (out_dir / "README.md").write_text(readme(paths))
    return paths


def _describe(truth: dict) -> tuple[str, str, str]:
    """(reps, valgus reps, camera) cells of a clip's README row."""
    cam = truth["render"]["camera"]
    camera = (f"yaw {cam['yaw_deg']:.0f} deg, lens {cam['height_m']:.2f} m high, {cam['distance_m']:.1f} m away, "
              f"{truth['width']}x{truth['height']}")
    if truth["holds"]:
        h = truth["holds"][0]
        tds = ", ".join(f"{t:.1f} s" for t in h["touchdowns"]) or "none"
        return f"hold on {h['leg']} leg {h['start_s']:.1f}-{h['end_s']:.1f} s", f"touch-downs at {tds}", camera
    legs = sorted({leg for r in truth["reps"] for leg in r["legs"]})
    caving = [f"{r['index']} ({', '.join(k for k, v in r['valgus'].items() if v)}, peak FPPA "
              f"{max(r['peak_fppa_deg'][k] for k, v in r['valgus'].items() if v):.0f} deg)"
              for r in truth["reps"] if any(r["valgus"].values())]
    return f"{len(truth['reps'])} ({'+'.join(legs)})", "; ".join(caving) or "none", camera


def readme(paths: list[pathlib.Path]) -> str:
    """sample_videos/README.md: what each committed clip shows, from its truth."""
    rows = []
    for p in paths:
        truth = json.loads(p.with_name(p.stem + ".truth.json").read_text())
        reps, caving, camera = _describe(truth)
        rows.append(f"| `{p.name}` | {truth['exercise']} | {reps} | {caving} | {camera} |")
    return "\n".join([
        "# Sample clips (synthetic)",
        "",
        "Rendered by `formcheck samples --out sample_videos --set committed` (formcheck.synth.samples): a drawn",
        "person doing scripted reps, so the true joint positions and knee angles are known exactly. Each clip",
        "has `<clip>.truth.json` beside it: per-frame projected landmarks, true FPPA / shank angle /",
        "knee-to-toe offset / knee flexion per leg, rep windows with valgus labels, and the render parameters",
        "(formcheck/synth/truth.py says how each is defined). Valgus reps were scripted to a frontal peak FPPA",
        "of about 26 degrees; clean reps peak below 5 (a clean knee reads varus, negative, at the bottom).",
        "",
        "| clip | exercise | reps (legs) | valgus reps | camera |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Check the pose model against the truth: `python -m formcheck.synth.verify sample_videos/*.mp4`.",
        "The full benchmark (every exercise at camera yaw 0/15/30, several camera heights, tempos, bodies",
        "and clothes): `formcheck samples --out DIR`.",
        "",
    ])
