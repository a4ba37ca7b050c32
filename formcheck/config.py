"""One typed, frozen configuration: defaults here, then a TOML file, then the command line.

`formcheck/default_config.toml` is the commented example; its values must equal these defaults
(a test checks). Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck import validate
from formcheck.errors import InputError


ZERO_ALLOWED = frozenset({"peak_hold_s", "marked_margin_deg", "marked_margin_knee_toe"})  # 0: plain maximum; every flag marked


@dataclass(frozen=True)
class Thresholds:
    """When a knee counts as caving in. Defaults from DOMAIN.md's norms; a therapist may change each.

    FPPA 10 degrees sits between healthy landing norms (females 7-13, males 3-8) and the
    single-leg-squat mean in patellofemoral pain (16.8); the shank and knee-to-toe limits judge
    the knee against the foot where the thigh is too foreshortened for FPPA.
    """

    valgus_fppa_deg: float = 10.0
    valgus_shank_deg: float = 10.0
    # Knee-to-toe offset in the loaded half of a rep (lunges, side lunges, single-leg work; squats
    # use `valgus_knee_toe_squat`). Clean toes-out lateral lunges read 0.23-0.31 there (a turned-out
    # foot puts the foot-index landmark lateral of the knee); DOMAIN.md's clear cave read +0.56.
    valgus_knee_toe: float = 0.3
    # Deep flexion is judged by the knee-to-toe *change* from standing (standing shank lengths,
    # positive = the knee moved medially of where it stood over its toes): a knee that tracks
    # over a planted, turned-out foot moves laterally as it bends, so any medial change is the
    # knee leaving the foot's line. 0.04 (about 1.7 cm on a 43 cm shank) is twice the rep-to-rep
    # spread of clean reps, real and synthetic (benchmarks/RESULTS.md, valgus-measure).
    # false: the absolute offset above decides.
    knee_toe_from_standing: bool = True
    valgus_knee_toe_change: float = 0.04
    # Against the foot, also flag a knee whose shank leans inward past `valgus_shank_deg`, whatever
    # its change from standing: someone who stands knock-kneed barely moves from standing while
    # caving (benchmarks/RESULTS.md, real-valgus).
    shank_gate: bool = True
    # Two-footed squats (`for_two_footed_squat`): with both feet planted, a knee that ends more than
    # `valgus_knee_toe_squat` inside its toes is caving whatever its change from standing: where
    # the knee ends against its foot is what a cave is. Squats use this limit wherever the absolute
    # offset judges (this gate, a rep without a standing reference, `knee_toe_from_standing =
    # false`), not `valgus_knee_toe`. 0.2 is the limit fitted on the labelled real squats leaving
    # each person out (benchmarks/RESULTS.md, real-valgus); clean real squats read up to 0.26 (toes
    # outside the frame), clean lunges and single-leg work far more, hence squats only.
    valgus_knee_toe_squat: float = 0.2
    # Set by `for_two_footed_squat`, not a setting: on elsewhere it flags clean toes-out lunges.
    knee_toe_gate: bool = field(default=False, metadata={"internal": True})
    # A hop landing's FPPA (at contact and its peak over the landing window): Herrington & Munro
    # 2010 give landing norms of about 7-13 degrees in females and 3-8 in males.
    valgus_landing_fppa_deg: float = 10.0
    # Band side-shuffle (band-walk): the ankles closer than this many standing hip widths (the hip
    # landmarks' image distance) let the band go slack ("the feet never close together"). Feet
    # set hip-width apart read about 1.0; together about 0.5; a band walk's base stance 1.3-1.8.
    band_min_ankle_separation: float = 0.8
    baseline_relative: bool = False  # compare FPPA with the standing baseline instead of 0
    frontal_max_yaw_deg: float = 20.0  # body turned further than this: valgus is not scored
    # FPPA is only read where the thigh is seen well: knee flexion (3D) at most this, and the
    # thigh's image length (relative to hip width) at least `foreshortened_thigh_ratio` of its
    # standing value. Beyond that the knee is judged against the foot instead.
    fppa_max_flexion_deg: float = 60.0
    foreshortened_thigh_ratio: float = 0.75
    # A rep's (or hold's) peak is the highest value its measure stays at or above for this long
    # (media time, first to last sample): the pose model now and then throws a knee tens of
    # pixels for two or three frames, which once flagged a knee held at -25 degrees FPPA (CI, live).
    # Real caving in these slow exercises lasts far longer, so the peak of a true cave barely moves.
    peak_hold_s: float = 0.1
    # A knee past its limit by more than these is graded `marked`, else `mild`: 8 degrees is the
    # smallest detectable difference of 2D FPPA (DOMAIN.md: 5-9); the knee-to-toe measures have
    # no published error, and 0.1 shank lengths (about 4 cm) is about three standard deviations
    # of one person's clean reps (squat_front_10 and 22, benchmarks/RESULTS.md, real-valgus).
    marked_margin_deg: float = 8.0
    marked_margin_knee_toe: float = 0.1

    def for_two_footed_squat(self) -> "Thresholds":
        """The thresholds a two-footed squat is judged by: the absolute knee-to-toe offset at
        `valgus_knee_toe_squat` decides beside the change from standing (a gate, as the shank is)."""
        return dataclasses.replace(self, valgus_knee_toe=self.valgus_knee_toe_squat, knee_toe_gate=True)

    def __post_init__(self) -> None:
        """Every limit a finite positive number (zero allowed where it means "off"), from any
        source: defaults, a config file, a patient's record or the command line."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, bool):
                validate.number(value, f"threshold {f.name}", zero_ok=f.name in ZERO_ALLOWED)


@dataclass(frozen=True)
class CueConfig:
    """Live feedback timing: hold before speaking, release margin, and quiet time between cues."""

    # A knee must stay past its limit this long (media time) before its cue shows: with 0.03 s a
    # live run on a loaded machine cued the clean sample's left knee one frame after a pose-model
    # throw crossed the limit (FPPA +19.7). 0.06 s is three analysed frames at 30 fps, kept under
    # the report's `peak_hold_s` so a caving knee is still cued within the 150 ms latency target.
    debounce_s: float = 0.06
    release_margin: float = 0.7  # a cue ends when the measure falls below this fraction of its threshold
    cooldown_s: float = 2.0


@dataclass(frozen=True)
class RepLevels:
    """Hysteresis levels of one depth signal, in that signal's own units (TrackerConfig says which)."""

    enter: float  # rise above standing that starts a rep
    onset: float  # at or below this above standing counts as standing (and the rep's start)
    onset_rate: float  # units per second under which the signal counts as still

    def __post_init__(self) -> None:
        if not (0 <= self.onset < self.enter and self.onset_rate > 0):
            raise InputError(f"rep levels need 0 <= onset < enter and onset_rate > 0 (got {self})")


@dataclass(frozen=True)
class HoldSettings:
    """Balance holds: when the free foot counts as up or down (body lengths) and how long is a hold."""

    lift_on: float = 0.06  # free ankle this far above the stance ankle: foot up
    lift_off: float = 0.03  # back under this: foot down (hysteresis against jitter)
    touchdown_max_s: float = 1.5  # a foot down for longer ends the hold (shorter: a touch-down)
    min_hold_s: float = 1.0  # shorter holds (a step, a stumble) are not counted
    # Progressions (trackers/balance.py): tiptoes by the stance heel's rise over the flat foot
    # measured while standing before the hold, head turns and arm or leg reaches as swings past a
    # level and back, against where the head or limb rests over the hold.
    flat_window_s: float = 3.0  # the flat foot: the heel's median height over this long before the hold
    flat_min_s: float = 0.3  # with less standing than this before the hold, tiptoes are unknown
    # The pose model under-reads both from the front (rendered clips: a 9 cm heel rise, 0.068 body
    # lengths, read 0.020; 60-degree head turns read 30-41), so the levels sit near a third and a
    # half of those.
    tiptoe_rise: float = 0.012  # heel this far (body lengths) above flat: on tiptoes
    tiptoe_share: float = 0.5  # on tiptoes for at least this share of the hold: a tiptoe hold
    head_turn_on: float = 20.0  # the head turned this far (degrees) from where it rests: a head turn
    head_turn_off: float = 10.0  # back under this: the turn is over
    reach_on: float = 0.2  # a foot or hand this much further (leg lengths) from the body than it rests: a reach
    reach_off: float = 0.1  # back under this: the reach is over

    def __post_init__(self) -> None:
        if not 0 <= self.lift_off < self.lift_on:
            raise InputError(f"balance needs 0 <= lift_off < lift_on (got {self.lift_off}, {self.lift_on})")
        if not (0 <= self.head_turn_off < self.head_turn_on and 0 <= self.reach_off < self.reach_on):
            raise InputError("balance needs head_turn_off < head_turn_on and reach_off < reach_on")
        if not (0 < self.tiptoe_share <= 1 and self.tiptoe_rise > 0 and 0 <= self.flat_min_s <= self.flat_window_s):
            raise InputError("balance needs 0 < tiptoe_share <= 1, tiptoe_rise > 0 and flat_min_s <= flat_window_s")


@dataclass(frozen=True)
class HopSettings:
    """Hops and bounces: when the feet count as off the floor (body lengths above the floor the
    soles stood on), which flights and contacts count, and how a landing's valgus is read.

    The landing window follows the drop-landing screening convention: FPPA at initial contact and
    its peak within the first 100 ms, judged against `Thresholds.valgus_landing_fppa_deg`.
    """

    lift_on: float = 0.03  # a sole this far above its floor: that foot is off the floor
    # Under this, a foot standing is still on the floor (hysteresis against jitter); it is also how
    # far a foot in flight must fall before it can land (half of it landing farther from the camera)
    lift_off: float = 0.015
    floor_window_s: float = 2.0  # the floor is the lowest either sole has stood over this long on it
    min_flight_s: float = 0.13  # all feet off for less than this: a stumble or jitter, not a hop (a 5 cm hop flies 0.2 s)
    max_contact_s: float = 1.5  # on the floor longer than this: hopping stopped (no contact time)
    landing_window_s: float = 0.1  # landing valgus: the FPPA peak within this long after contact

    def __post_init__(self) -> None:
        if not 0 <= self.lift_off < self.lift_on:
            raise InputError(f"hop needs 0 <= lift_off < lift_on (got {self.lift_off}, {self.lift_on})")


@dataclass(frozen=True)
class SideStepSettings:
    """Sideways stepping (band-walk, side-push): a step is the ankles' image distance opening by
    at least `step_on` body lengths (the leading foot stepping out) and closing again by as much
    (the trailing foot following). Body lengths (shoulders to ankles), so near and far read alike.
    """

    step_on: float = 0.08  # the ankles this much further apart than their last closest: a step out
    onset: float = 0.012  # within this of the closest: the feet still (push-off is the last such frame)
    settle_s: float = 0.25  # the ankles no closer for this long after closing: the step is over
    max_open_s: float = 1.5  # feet held apart this long without the trailing foot following: a wider stance
    active_s: float = 2.0  # the legs count as loaded this long after a step (the walk goes on)
    push_off_window_s: float = 0.2  # push-off valgus: FPPA at push-off and its peak within this long after
    hip_window_s: float = 10.0  # standing hip width: the widest the hips have been over this long

    def __post_init__(self) -> None:
        if not 0 <= self.onset < self.step_on:
            raise InputError(f"side steps need 0 <= onset < step_on (got {self.onset}, {self.step_on})")


@dataclass(frozen=True)
class AdductionSlideSettings:
    """Hip adduction slides: from the side-lunge position (one knee bent, the other leg straight
    out to the side) the straight leg's foot slides in and back out. A slide is the ankles' image
    distance, in straight-leg lengths (the longest either leg's hip-to-ankle image distance has
    been over `leg_window_s`), closing by at least `slide_on` from its widest and opening again by
    as much. Leg lengths, so near and far read alike, and the range is the clinical unit.
    """

    slide_on: float = 0.12  # the ankles this much closer than their widest: the foot slides in
    onset: float = 0.012  # within this of the widest: the foot still (the slide's start is the last such frame)
    settle_s: float = 0.25  # the ankles no wider for this long after opening again: the slide is over
    max_in_s: float = 3.0  # the foot kept in this long without sliding back out: the person stood up, not a slide
    # The side-lunge position: at the slide's start, the bent leg's hip-to-ankle image length this
    # many leg lengths shorter than the straight one's. On the synthetic slides (50 degrees) the
    # pose model read 0.09; standing with both knees straight, under 0.01. The model's 3D knee
    # angle cannot tell the legs apart: it read the straight leg 18-25 degrees, the bent knee with
    # the foot in 17-19.
    bent_min_shortening: float = 0.04
    active_s: float = 2.0  # the bent knee counts as loaded this long after a slide (the set goes on)
    leg_window_s: float = 10.0  # straight-leg length: the longest hip-to-ankle image distance over this long

    def __post_init__(self) -> None:
        if not 0 <= self.onset < self.slide_on:
            raise InputError(f"adduction slides need 0 <= onset < slide_on (got {self.onset}, {self.slide_on})")


@dataclass(frozen=True)
class PivotSettings:
    """Pivots: walk in, plant a foot, turn the body away from it, walk off. A pivot is the shoulder
    line (world landmarks) turning `turn_on` degrees from where it was still, starting while the
    person faced the camera (within `face_max_deg`); the planted leg is the one whose ankle moved
    least in the image over the turn, and its plant the moment that ankle last came to rest. An
    ankle is moving once it travelled `move_on` body lengths within `still_s`, at rest again once
    it travelled under `still_on` within `still_s`.
    """

    turn_on: float = 25.0  # the shoulder line this many degrees from where it was still: a pivot
    onset_deg: float = 4.0  # within this of where it was still: not turning yet (the turn starts at the last such frame)
    settle_s: float = 0.25  # the shoulders no further round for this long: the pivot is over
    max_drift_s: float = 1.5  # turning slower than this to reach turn_on: a drift, not a pivot
    face_max_deg: float = 20.0  # a pivot starts facing the camera: the turn back toward it is no plant
    move_on: float = 0.03  # ankle travel within still_s, body lengths: the foot is moving
    still_on: float = 0.01  # under this: the foot is at rest (planted)
    still_s: float = 0.1
    lookback_s: float = 2.0  # the plant is looked for this long before the turn
    active_s: float = 0.6  # a foot that came to rest loads its knee this long (live cues), and while turning
    plant_window_s: float = 0.2  # plant valgus: FPPA at the plant and its peak within this long after

    def __post_init__(self) -> None:
        if not (0 <= self.onset_deg < self.turn_on and 0 <= self.still_on < self.move_on):
            raise InputError(f"pivot needs onset_deg < turn_on and still_on < move_on (got {self})")


@dataclass(frozen=True)
class TrackerConfig:
    """How reps and holds are counted (formcheck/trackers). Timing in seconds; each exercise family
    counts on its own depth signal with its own `RepLevels`:
    - `leg_shortening`: squat, lean-back squat, lunge, side lunge (percent of standing hip-ankle
      image length; real squats shorten the legs 25-60 %, fidgets under 5 %);
    - `stance_leg`: step-down, single-leg squat (percent, the stance leg's own shortening);
    - `hip_rise`: step-up (pelvis rise, percent of body length; a 17 cm step is about 10 %);
    - `side_lying`: clamshell, side-lying leg raise (opening angle, degrees);
    - `knee_angle`: knee extension, hamstring curl (knee angle, degrees);
    - `knee_rom`: knee range of motion (knee angle, degrees; smaller, as early after an injury).
    """

    min_rep_s: float = 0.5  # shorter movements are not reps
    max_gap_s: float = 1.0  # the person lost for longer aborts the rep
    settle_s: float = 0.6  # longest a finished rep may take to settle back to standing
    settle_rate_fraction: float = 1.0  # settled once falling slower than this share of the descent speed
    end_fraction: float = 0.12  # a rep ends when back under this fraction of its range
    min_relative_range: float = 0.6  # shallower than this share of recent reps: a half rep
    rate_window_s: float = 0.1  # over which the signal's speed is measured
    reference_window_s: float = 10.0  # standing reference: lowest signal outside reps over this long
    standing_window_s: float = 10.0  # standing length: longest hip-ankle (body) length over this long
    stance_window_s: float = 10.0  # step-down: stance leg decided over this long
    rep_history_s: float = 20.0  # longest rep whose per-frame leg evidence is kept
    # Timed holds (knee extension, hamstring curl): the knee is near its end position within
    # `hold_share` of the rep's range of it, or `hold_band_deg`, whichever is wider, and the hold
    # goes on through readings away from it lasting at most `hold_gap_s` at a time.
    hold_share: float = 0.25
    hold_band_deg: float = 10.0
    hold_gap_s: float = 0.5
    min_compared_share: float = 0.3  # a rep's legs are told apart on frames with both legs seen: at least this share
    rom_rest_s: float = 0.5  # knee-rom: the resting knee angle is read over the first this long
    rom_bent_rest_deg: float = 45.0  # knee-rom: resting knees bent past this (seated): reps straighten them
    rom_lead_s: float = 0.5  # knee-rom: a rep's range is read from this long before its start
    leg_shortening: RepLevels = field(default_factory=lambda: RepLevels(enter=10.0, onset=3.0, onset_rate=4.0))
    stance_leg: RepLevels = field(default_factory=lambda: RepLevels(enter=7.0, onset=2.5, onset_rate=4.0))
    hip_rise: RepLevels = field(default_factory=lambda: RepLevels(enter=4.0, onset=1.5, onset_rate=3.0))
    side_lying: RepLevels = field(default_factory=lambda: RepLevels(enter=15.0, onset=5.0, onset_rate=20.0))
    knee_angle: RepLevels = field(default_factory=lambda: RepLevels(enter=30.0, onset=8.0, onset_rate=25.0))
    knee_rom: RepLevels = field(default_factory=lambda: RepLevels(enter=15.0, onset=5.0, onset_rate=20.0))
    balance: HoldSettings = field(default_factory=HoldSettings)
    hop: HopSettings = field(default_factory=HopSettings)
    side_step: SideStepSettings = field(default_factory=SideStepSettings)
    adduction_slide: AdductionSlideSettings = field(default_factory=AdductionSlideSettings)
    pivot: PivotSettings = field(default_factory=PivotSettings)


@dataclass(frozen=True)
class Config:
    thresholds: Thresholds = field(default_factory=Thresholds)
    cues: CueConfig = field(default_factory=CueConfig)
    trackers: TrackerConfig = field(default_factory=TrackerConfig)


def _apply(obj: Any, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(obj) if not f.metadata.get("internal")}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise InputError(f"unknown setting '{where}{key}' in config: known are {', '.join(sorted(known))}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError(f"setting '{where}{key}' must be a table")
            changes[key] = _apply(current, value, f"{where}{key}.")
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise InputError(f"setting '{where}{key}' must be true or false")
            changes[key] = value
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"setting '{where}{key}' must be a number")
            changes[key] = float(value)
    return dataclasses.replace(obj, **changes)


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the TOML file at `path`, then `overrides` (nested dicts, like the file)."""
    config = Config()
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"config file not found: {path}") from None
        except OSError as exc:
            raise InputError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"config file {path} is not valid TOML: {exc}") from None
        config = _apply(config, data, "")
    if overrides:
        config = _apply(config, overrides, "")
    return config


def effective_config(
    path: Path | None = None, patient: dict[str, Any] | None = None, command_line: dict[str, Any] | None = None
) -> Config:
    """The configuration a run uses: defaults < the TOML file at `path` < the patient's own
    thresholds (`Store.thresholds`) < options given on the command line (both `Thresholds` keys).
    The one place that precedence is written; the CLI, the live loop and the dashboard's jobs call it."""
    thresholds = {**(patient or {}), **(command_line or {})}
    return load_config(path, {"thresholds": thresholds} if thresholds else None)


def config_as_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)
