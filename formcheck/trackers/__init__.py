"""Exercise trackers, registered by name (`formcheck analyze --help` lists them)."""

from formcheck.trackers import adduction_slide, auto, balance, hop, non_weight_bearing, pivot, range_of_motion, side_step, single_leg, squat  # noqa: F401  (registers)
from formcheck.trackers.base import (
    Event,
    HoldEnded,
    HoldStarted,
    HoldWindow,
    KneeRom,
    Landing,
    Phase,
    Plant,
    RepCompleted,
    RepRejected,
    RepStarted,
    RepWindow,
    SideStep,
    Slide,
    Tracker,
    TrackerState,
    tracker_class,
    tracker_names,
)

__all__ = [
    "Event",
    "HoldEnded",
    "HoldStarted",
    "HoldWindow",
    "KneeRom",
    "Landing",
    "Phase",
    "Plant",
    "RepCompleted",
    "RepRejected",
    "RepStarted",
    "RepWindow",
    "SideStep",
    "Slide",
    "Tracker",
    "TrackerState",
    "tracker_class",
    "tracker_names",
]
