"""What every exercise tracker is: a small state machine fed one frame of metrics at a time.

Trackers know nothing about drawing, files or time sources; they turn metrics into events. The
same tracker class runs live (on causally filtered metrics) and in reports (on zero-phase
filtered metrics), which is how both paths count the same reps.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from formcheck.config import Thresholds, TrackerConfig
from formcheck.core.landmarks import Side
from formcheck.core.metrics import Metrics


class Phase(str, enum.Enum):
    SETUP = "setup"  # no person, or no standing reference yet
    STANDING = "standing"
    DESCENT = "descent"
    ASCENT = "ascent"
    HOLD = "hold"


@dataclass(frozen=True)
class RepWindow:
    """One counted repetition, frame indices and seconds (start = motion onset, end = back up)."""

    index: int
    start_i: int
    bottom_i: int
    end_i: int
    start_s: float
    bottom_s: float
    end_s: float
    legs: tuple[Side, ...]
    hold_s: float | None = None  # time held at the end of the range (exercises with a timed hold)
    range_deg: float | None = None  # joint range of the rep, for exercises counted on an angle
    knee_rom: tuple[KneeRom, ...] = ()  # knee range of motion per working leg (knee-rom)
    landing: Landing | None = None  # hops: the landing this rep is (start = initial contact)
    step: SideStep | None = None  # band-walk, side-push: the sideways step this rep is (start = push-off)
    slide: Slide | None = None  # adduction-slide: the slide this rep is (bottom = the feet at their closest)
    plant: Plant | None = None  # pivot: the plant this rep is (start = the planted foot came to rest)


@dataclass(frozen=True)
class Landing:
    """One hop landing (trackers/hop.py): the rep's start is the initial contact, its end the last
    frame on the floor. Landing valgus is FPPA at contact and its peak over the `window_frames` frames
    after it (the first `landing_window_s`), judged against `Thresholds.valgus_landing_fppa_deg`."""

    window_frames: int  # relative to the contact frame, so the window moves with the rep
    contact_time_s: float | None  # contact to the next take-off; None: the person stayed down


@dataclass(frozen=True)
class SideStep:
    """One sideways step (trackers/side_step.py): the rep's start is the push-off (the last frame
    the feet were still before the leading foot moved out), its end the trailing foot settled.
    Push-off valgus is FPPA at push-off and its peak over the `window_frames` frames after it."""

    direction: Side  # the way the person stepped, their own left or right (the leading foot's side)
    pushing: Side  # the trailing leg, which pushes the body over
    window_frames: int  # relative to the push-off frame
    min_separation: float | None  # narrowest ankle distance of the step, in standing hip widths
    min_separation_i: int | None  # the frame it was read on
    flexion_held_deg: float | None  # the least knee flexion (both knees' mean, 3D) over the step


@dataclass(frozen=True)
class Slide:
    """One hip adduction slide (trackers/adduction_slide.py): the rep's start is the last frame the
    straight leg's foot was still out, its bottom the feet at their closest, its end the foot out
    again. Distances are ankle separations in the image over the straight-leg length (the longest
    hip-to-ankle image distance, `leg_px`). The rep's leg is the bent one, judged as usual."""

    bent: Side  # the side-lunge's bent leg (its knee's valgus is watched)
    straight: Side  # the leg whose foot slides
    start_separation: float  # the ankles' distance at the start, leg lengths
    min_separation: float  # at their closest (the rep's bottom)
    leg_px: float  # the unit: straight-leg length in the image at the bottom, pixels

    @property
    def range(self) -> float:
        """How far the foot slid in, leg lengths."""
        return self.start_separation - self.min_separation


@dataclass(frozen=True)
class Plant:
    """One pivot (trackers/pivot.py): the rep's start is the plant (the planted foot came to rest),
    its end the turn's furthest. Plant valgus is FPPA at the plant and its peak over the
    `window_frames` frames after it; the trunk turn the shoulder line's rotation from the plant to
    the end (world landmarks, degrees)."""

    leg: Side  # the planted leg
    window_frames: int  # relative to the plant frame
    turn_deg: float
    turn_start_i: int  # the first frame the shoulders turned


@dataclass(frozen=True)
class KneeRom:
    """One leg's knee range in one rep (degrees of flexion; trackers/range_of_motion.py says which
    estimate `measure` names and what `uncertainty_deg` is)."""

    leg: Side
    max_flexion_deg: float | None
    fullest_extension_deg: float | None
    uncertainty_deg: float | None
    measure: str  # "image" (2D) or "world" (3D)


@dataclass(frozen=True)
class Reach:
    """An arm or the free leg reaching out during a hold and back (trackers/balance.py)."""

    limb: str  # "free-leg", "left-arm" or "right-arm"
    start_s: float
    end_s: float
    distance: float  # furthest from the body's vertical axis, leg lengths


@dataclass(frozen=True)
class Progression:
    """What makes a hold harder than a still flat-foot stand (trackers/balance.py): tiptoes, head
    turns, reaches. `name` is "flat" with none of them, else theirs joined by "+"."""

    name: str
    tiptoe_share: float | None  # share of the hold's frames with the heel risen; None: no flat foot seen
    heel_rise: float | None  # median rise of the stance heel over the hold, body lengths
    head_turns: int
    head_turn_max_deg: float | None  # the furthest turn from where the head rests
    reaches: tuple[Reach, ...] = ()


@dataclass(frozen=True)
class HoldWindow:
    """A single-leg hold (balance work)."""

    leg: Side
    start_i: int
    end_i: int
    start_s: float
    end_s: float
    touchdowns: tuple[float, ...] = ()
    progression: Progression | None = None


@dataclass(frozen=True)
class RepStarted:
    index: int
    t_s: float


@dataclass(frozen=True)
class RepCompleted:
    rep: RepWindow


@dataclass(frozen=True)
class RepRejected:
    """Movement that looked like a rep but was not one (too short, too shallow, person lost).
    `reported`: the report lists it as not counted, with the reason, so that a count short of
    what the person did is explained; not for the rep counter's filters of flickers and shifts
    of weight (too quick, too shallow against the other reps), which most clips have, unless no
    rep was counted."""

    t_s: float
    reason: str
    reported: bool = True


@dataclass(frozen=True)
class HoldStarted:
    """The free foot left the floor: a balance hold on `leg` began."""

    leg: Side
    t_s: float


@dataclass(frozen=True)
class HoldEnded:
    hold: HoldWindow


Event = RepStarted | RepCompleted | RepRejected | HoldStarted | HoldEnded


@dataclass
class TrackerState:
    """What an annotator or live window shows; rebuilt by the tracker, read by everyone else."""

    phase: Phase = Phase.SETUP
    rep_in_progress: int | None = None  # index of the rep being done, if any
    reps_done: int = 0
    working_legs: tuple[Side, ...] = ()
    reps: list[RepWindow] = field(default_factory=list)
    holds: list[HoldWindow] = field(default_factory=list)
    # Band-walk: the ankles' distance now in standing hip widths (the live "keep the band tight"
    # cue reads it); None for exercises without that rule or while it is unknown.
    feet_apart: float | None = None


class Tracker(ABC):
    """Base class: subclasses implement `update` for one frame of metrics (a 0-d `Metrics`)."""

    name: str = ""
    description: str = ""
    counts_holds: bool = False  # balance work: holds, not reps
    # The report pass removes landmark spikes (a Hampel filter over 0.25 s either side) before
    # smoothing; false where the exercise's own fast moves would read as spikes (a hop's flight).
    despike: bool = True
    # Whether knee valgus is judged at all: not where the knee carries no load to cave under
    # (lying, seated or side-lying work), whatever its angles read from the front.
    judges_valgus: bool = True
    # Whether the exercise is read from the side (a knee angle bending toward a camera in front is
    # foreshortened): the report warns when it was filmed from the front.
    side_view: bool = False

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        """`side`: the working leg when the user names it (`--side`); None to detect it.
        `settings`: the loaded config's `trackers` section (the defaults when None)."""
        self.side = side
        self.settings = settings if settings is not None else TrackerConfig()
        self.state = TrackerState()

    def thresholds(self, th: Thresholds) -> Thresholds:
        """The valgus thresholds this exercise's knees are judged by: the configured ones, unless
        its stance changes what a cave looks like (two-footed squats)."""
        return th

    @abstractmethod
    def update(self, i: int, m: Metrics) -> list[Event]:
        """Feed frame `i`; returns what happened on it."""

    def finish(self) -> list[Event]:
        """The stream ended: a rep still in progress is not counted."""
        return []

    @property
    def loaded(self) -> bool:
        """Whether the working legs are under load now (when valgus cues may fire)."""
        return self.state.phase in (Phase.DESCENT, Phase.ASCENT, Phase.HOLD)


_REGISTRY: dict[str, type[Tracker]] = {}


def register(cls: type[Tracker]) -> type[Tracker]:
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"tracker name missing or taken: {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def tracker_names() -> list[str]:
    return sorted(_REGISTRY)


def tracker_class(name: str) -> type[Tracker]:
    from formcheck.errors import InputError

    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown exercise {name!r}: choose one of {', '.join(tracker_names())}") from None
