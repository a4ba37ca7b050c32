"""Exercise trackers, registered by name (`formcheck analyze --help` lists them)."""

from formcheck.trackers import squat  # noqa: F401  (registers)
from formcheck.trackers.base import (
    Event,
    HoldWindow,
    Phase,
    RepCompleted,
    RepRejected,
    RepStarted,
    RepWindow,
    Tracker,
    TrackerState,
    tracker_class,
    tracker_names,
)

__all__ = [
    "Event",
    "HoldWindow",
    "Phase",
    "RepCompleted",
    "RepRejected",
    "RepStarted",
    "RepWindow",
    "Tracker",
    "TrackerState",
    "tracker_class",
    "tracker_names",
]
