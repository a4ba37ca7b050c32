"""Hysteresis repetition counting on one scalar "depth" signal, relative to a standing reference.

The signal is anything that rises as a rep goes down and falls back when it comes up (how far
the legs shorten in the image, for squats). The standing reference is the lowest recent value
outside reps, so a person's own standing posture (and the model's bias) cancels out.

A rep starts when the signal rises `enter` above standing and is counted when it falls back
under `end_fraction` of the rep's own range (or `onset` above standing, whichever is higher);
the window's start is the last frame at or below that level before the rise. Reps run back to
back without standing up in between (pistol squats come back up to 15-20 % of their range) are
split where the signal turned down again: at a trough within REBOUND_FRACTION of the range of
the rep's start, followed by a rise of `enter`. Reps that are too
short, too shallow against the person's own recent reps, or broken by a long loss of the person
are rejected, not counted. A rep broken by a loss is rejected once: when the person comes back
still bent, the rest of that rep is not a new rep, so no rep starts until they have stood again.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from formcheck.config import RepLevels, TrackerConfig
from formcheck.trackers.base import Phase, RepRejected, RepStarted

Sample = tuple[int, float, float]  # (frame index, t_s, signal)
# A trough this close to the rep's start (share of its range) followed by a new descent ends the
# rep there: the person came most of the way up. A bounce at the bottom stays one rep.
REBOUND_FRACTION = 0.35


@dataclass(frozen=True)
class RepParams:
    """The counter's settings: one signal's levels plus the shared timing (`TrackerConfig`)."""

    enter: float  # rise above standing that starts a rep (signal units)
    onset: float  # at or below this above standing counts as standing
    onset_rate: float  # signal units per second under which the signal counts as still
    rate_window_s: float
    settle_s: float  # longest a finished rep may take to settle back to standing
    settle_rate_fraction: float  # settled once falling slower than this share of the descent speed
    end_fraction: float  # a rep ends when back under this fraction of its range
    min_duration_s: float
    max_gap_s: float  # the person lost for longer than this aborts the rep
    reference_window_s: float
    min_relative_range: float  # a rep shallower than this fraction of recent reps is a half rep

    @classmethod
    def from_config(cls, settings: TrackerConfig, levels: RepLevels) -> RepParams:
        s = settings
        return cls(
            enter=levels.enter,
            onset=levels.onset,
            onset_rate=levels.onset_rate,
            rate_window_s=s.rate_window_s,
            settle_s=s.settle_s,
            settle_rate_fraction=s.settle_rate_fraction,
            end_fraction=s.end_fraction,
            min_duration_s=s.min_rep_s,
            max_gap_s=s.max_gap_s,
            reference_window_s=s.reference_window_s,
            min_relative_range=s.min_relative_range,
        )


@dataclass(frozen=True)
class CountedRep:
    start: Sample
    bottom: Sample
    end: Sample


class RepCounter:
    def __init__(self, params: RepParams) -> None:
        self.p = params
        self.phase = Phase.SETUP
        self._ref_window: deque[tuple[float, float]] = deque()  # (t, signal) outside reps
        self._history: deque[Sample] = deque()  # recent samples for finding the onset
        self._start: Sample | None = None
        self._bottom: Sample | None = None
        self._pending: tuple[Sample, Sample, float, Sample] | None = None  # a finished rep settling
        self._trough: Sample | None = None  # lowest sample since the rep's bottom
        # Where the run of reps began: back-to-back reps are measured from it, not from the
        # trough each one starts at, so a bounce reads the same in any rep of a run.
        self._run_floor: float | None = None
        self._last_t: float | None = None
        self._lost_mid_rep = False  # a rep was aborted for a lost person: wait for standing
        self._recent_ranges: deque[float] = deque(maxlen=5)
        self.reference: float | None = None
        self.rep_index = 0
        self.rise = 0.0  # latest signal above the standing reference

    def _update_reference(self, t: float, x: float) -> None:
        w = self._ref_window
        w.append((t, x))
        while w and w[0][0] < t - self.p.reference_window_s:
            w.popleft()
        self.reference = min(v for _, v in w)

    def update(self, i: int, t: float, x: float) -> tuple[list, CountedRep | None]:
        """Feed one sample (x may be NaN); returns (events, the rep completed on this sample)."""
        events: list = []
        if math.isnan(x):
            if self._start is not None and self._last_t is not None and t - self._last_t > self.p.max_gap_s:
                events.append(RepRejected(t, "person lost during the rep"))
                self.rep_index -= 1
                self._abort()
                self._lost_mid_rep = True
            return events, None
        self._last_t = t
        if self.reference is not None:
            self.rise = x - self.reference
        self._history.append((i, t, x))
        while self._history and self._history[0][1] < t - self.p.reference_window_s:
            self._history.popleft()

        if self._pending is not None:
            done = self._settle(i, t, x, events)
            if done is not None or self._pending is not None:
                return events, done

        if self._start is None:
            self._update_reference(t, x)
            assert self.reference is not None
            rise = x - self.reference
            self.phase = Phase.STANDING
            if self._lost_mid_rep:
                # Back after a loss mid-rep: its remainder (the ascent) must not count as a rep.
                self._lost_mid_rep = rise > self.p.onset
                if self._lost_mid_rep:
                    self.phase = Phase.ASCENT
                    return events, None
            if rise >= self.p.enter:
                self._start = self._onset_before(i)
                self._run_floor = self._start[2]
                self._bottom = (i, t, x)
                self.rep_index += 1
                self.phase = Phase.DESCENT
                events.append(RepStarted(self.rep_index, self._start[1]))
            return events, None

        assert self._bottom is not None and self._run_floor is not None and self.reference is not None
        # Measured from where this run of reps began, not the older reference: a changed stance
        # shifts the standing signal, and the rep must still end when the person is back up.
        floor = max(self.reference, self._run_floor)
        trough = self._trough
        if (trough is not None and x >= trough[2] + self.p.enter
                and trough[2] <= floor + REBOUND_FRACTION * (self._bottom[2] - floor)):  # fmt: skip
            return self._rebound(i, t, x, trough, floor, events)
        if x > self._bottom[2]:
            self._bottom = (i, t, x)
            self._trough = None
            self.phase = Phase.DESCENT
        elif x < self._bottom[2] - 0.1 * self.p.enter:
            self.phase = Phase.ASCENT
        if self.phase is Phase.ASCENT and (self._trough is None or x < self._trough[2]):
            self._trough = (i, t, x)
        rep_range = self._bottom[2] - floor
        end_level = floor + max(self.p.onset, self.p.end_fraction * rep_range)
        if x <= end_level:
            # Nearly back up: the rep is done; its end is where the signal settles (next frames).
            self._pending = (self._start, self._bottom, rep_range, (i, t, x))
            self._start = None
            self._bottom = None
            self._trough = None
            self._run_floor = None
            return events, None
        return events, None

    def _rebound(self, i: int, t: float, x: float, trough: Sample, floor: float, events: list) -> tuple[list, CountedRep | None]:
        """The signal turned down again from `trough` before standing: the rep ends there and the
        next starts there (measured from the run's floor, like the first)."""
        assert self._start is not None and self._bottom is not None
        done = self._counted(self._start, self._bottom, self._bottom[2] - floor, trough, t, events)
        self._start, self._bottom, self._trough = trough, (i, t, x), None
        self.rep_index += 1
        self.phase = Phase.DESCENT
        events.append(RepStarted(self.rep_index, trough[1]))
        return events, done

    def _settle(self, i: int, t: float, x: float, events: list) -> CountedRep | None:
        """While a finished rep settles: end it once the signal stops falling (or starts a new
        rise, or `settle_s` has passed), then check it was a real rep."""
        assert self._pending is not None
        start, bottom, rep_range, last = self._pending
        rate = self._rate_at(len(self._history) - 1)
        # "Still" relative to this rep's own speed: a slow rep settles slowly, a quick one fast.
        still = max(self.p.onset_rate, self.p.settle_rate_fraction * rep_range / max(bottom[1] - start[1], 0.3))
        if rate < -still and t - last[1] < self.p.settle_s and x < last[2] + 0.5 * self.p.onset:
            self._pending = (start, bottom, rep_range, (i, t, x) if x <= last[2] else last)
            return None
        self._pending = None
        self._update_reference(t, x)
        end = last if x > last[2] else (i, t, x)
        self.phase = Phase.STANDING
        return self._counted(start, bottom, rep_range, end, t, events)

    def _counted(self, start: Sample, bottom: Sample, rep_range: float, end: Sample, t: float, events: list) -> CountedRep | None:
        """The finished rep, or None (with a RepRejected event) when too quick or a half rep."""
        if end[1] - start[1] < self.p.min_duration_s:
            events.append(RepRejected(t, "too quick to be a rep", reported=False))
            self.rep_index -= 1
            return None
        # The typical range is the lower median of recent movements, rejected ones included: one
        # outsized first rep (the person settling in, a landmark glitch) must not make every
        # later rep look like a half rep, while a lone half rep among full ones still is one.
        recent = sorted(self._recent_ranges)
        typical = recent[(len(recent) - 1) // 2] if recent else None
        self._recent_ranges.append(rep_range)
        if typical is not None and rep_range < self.p.min_relative_range * typical:
            events.append(RepRejected(t, "a half rep, much shallower than the previous reps", reported=False))
            self.rep_index -= 1
            return None
        return CountedRep(start, bottom, end)

    def _rate_at(self, j: int) -> float:
        """Signal change per second over `rate_window_s` ending at history sample j."""
        h = self._history
        k = j
        while k > 0 and h[k][1] > h[j][1] - self.p.rate_window_s:
            k -= 1
        dt = h[j][1] - h[k][1]
        return (h[j][2] - h[k][2]) / dt if dt > 0 else 0.0

    def _onset_before(self, i: int) -> Sample:
        """Where the rise began: walking back from frame `i`, the first sample where the signal
        was no longer climbing (rate under `onset_rate` over `rate_window_s`), or was back at
        standing level. A plain level test would put the start inside any fidget or stance change
        that preceded the rep.
        """
        h = self._history
        level = (self.reference if self.reference is not None else -math.inf) + self.p.onset
        j = len(h) - 1
        while j > 0 and h[j][0] >= i:
            j -= 1
        while j > 0:
            if h[j][2] <= level or self._rate_at(j) < self.p.onset_rate:
                return h[j]
            j -= 1
        return h[0]

    def _abort(self) -> None:
        self._start = None
        self._bottom = None
        self._trough = None
        self._run_floor = None
        self.phase = Phase.STANDING

    def finish(self) -> tuple[list, CountedRep | None]:
        """The stream ended: a settling rep is counted, one still under way is not."""
        if self._pending is not None:
            events: list = []
            last = self._pending[3]
            done = self._settle(last[0], last[1] + self.p.settle_s, last[2], events)
            return events, done
        if self._start is not None:
            self.rep_index -= 1
            self._abort()
            return [RepRejected(self._last_t or 0.0, "the recording ended before the movement finished")], None
        return [], None

    @property
    def in_rep(self) -> bool:
        return self._start is not None or self._pending is not None

    @property
    def loading(self) -> bool:
        """Bending past standing level: a rep may be starting, so cues may fire before it counts."""
        return self.in_rep or self.rise > self.p.onset
