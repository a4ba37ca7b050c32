"""A rep that is one stroke of a foot and back: a sideways step (the feet open, then close) or an
adduction slide (the foot slides in, then back out). The trackers differ in what they measure;
the bookkeeping of where the stroke is, the phase shown, the rep in progress, a stroke cut off by
the end of the recording and when the knees count as loaded is this one."""

from __future__ import annotations

import enum
import math
from abc import abstractmethod

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import Side
from formcheck.trackers.base import Event, Phase, Tracker


class Stroke(enum.Enum):
    REST = "rest"  # between strokes: a step's feet at their closest, a slide's foot out
    GOING = "going"  # the leading foot stepped out / the foot slides in
    RETURNING = "returning"  # the trailing foot follows / the foot slides back out


_PHASE = {Stroke.GOING: Phase.DESCENT, Stroke.RETURNING: Phase.ASCENT}


class StrokeTracker(Tracker):
    """Subclasses set `self.p` (their settings, with `active_s`) and `_complete` a stroke,
    setting `_last_end_t` to its end."""

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self._stage = Stroke.REST
        self._t = -math.inf  # the latest frame's time
        self._last_end_t = -math.inf

    @abstractmethod
    def _complete(self, events: list[Event]) -> None:
        """Record the stroke in progress as a rep."""

    def finish(self) -> list[Event]:
        """A stroke on its way back when the recording ended counts."""
        events: list[Event] = []
        if self._stage is Stroke.RETURNING:
            self._complete(events)
        self._sync()
        return events

    def _sync(self) -> None:
        st = self.state
        st.reps_done = len(st.reps)
        st.rep_in_progress = st.reps_done + 1 if self._stage is not Stroke.REST else None
        st.phase = _PHASE.get(self._stage, Phase.STANDING)

    @property
    def loaded(self) -> bool:
        """During a stroke, and for `active_s` after one: the knees stay bent between strokes."""
        return self._stage is not Stroke.REST or self._t - self._last_end_t <= self.p.active_s  # type: ignore[attr-defined]
