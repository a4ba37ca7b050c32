"""Hops and bounces (`hop`): on the spot, forward and back, side to side, on two legs or one.

The floor is the lowest either ankle has stood over `floor_window_s` on the floor (a running
maximum of image y, `signals.LegShortening`'s; one floor for both feet, so a free foot held up
from the start is not taken as standing), and a foot is off the floor while its ankle stands more
than `lift_on` body lengths above it (the balance tracker's hysteresis). A flight is every foot
off the floor at once: for a single-leg hop the free foot is held up throughout, so the same rule
covers both. A flight shorter than `min_flight_s` (a stumble, a frame of jitter) is not a hop:
the contact before it goes on. The take-off is the frame the last foot rose past `lift_off`.

In a flight, a foot comes down when it has fallen `lift_off` or more from its highest point and
stops falling (this frame's drop at most `STOP_SHARE` of the flight's fastest), unless it stopped
`lift_on` or more above the other foot (a free foot held up); the floor is then where it landed.
Seen from the front, a hop toward the camera lands lower in the image than it took off and one
away from it higher, so the take-off floor says neither when the foot lands nor where; the floor
is held through the flight, however long (slow motion). The contact is dated back to the frame
the foot reached the take-off floor (within `lift_off`) when it landed there, else to the first
frame from which it fell no further than a stopped foot's drop. A hop toward the camera may not
rise `lift_on` in the image at all (least through the live filter); both feet falling together
`lift_on` or more below where they stood and stopping is then its landing (`RecentPath`).

A landing is a rep: start = initial contact (the first frame a foot is back on the floor after a
flight), bottom = its deepest knee flexion, end = the last frame on the floor before the next
take-off (or `max_contact_s` after contact when the person stays down). Its legs are the feet
on the floor within the landing window; its contact time runs from contact to the next take-off.
Scoring reads FPPA at contact and its peak within `landing_window_s` (`judging/scoring.py`).
"""

from __future__ import annotations

import math
from collections import deque

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, Landing, Phase, RepCompleted, RepStarted, RepWindow, Tracker, register
from formcheck.trackers.signals import LegShortening

Mark = tuple[int, float]  # (frame, t_s)

# A falling foot has landed once its drop per frame is at most this share of the flight's
# fastest: a foot meets the floor within a frame, and the relative rule holds in slow motion.
STOP_SHARE = 0.25


class FallingFoot:
    """One ankle through a flight: its highest point, its fastest fall per frame and the frames
    since the highest point (image y), to date a landing that is seen only once the foot stops."""

    def __init__(self, y: float) -> None:
        self.highest = self.last = y
        self.fastest = 0.0
        self._since_highest: list[tuple[int, float, float]] = []  # (frame, t, y)

    def landed(self, i: int, t: float, y: float, floor: float, near: float, fall: float) -> Mark | None:
        """When the foot came down, if it has now fallen `fall` pixels from its highest and
        stopped falling, else None. Back on the take-off `floor` (within `near` pixels) that is the
        first frame it was back within `fall` of it; elsewhere, the first frame from which it fell
        no more than a stopped foot's drop."""
        drop, self.last = y - self.last, y
        self.fastest = max(self.fastest, drop)
        if y <= self.highest:
            self.highest, self._since_highest = y, []
        self._since_highest.append((i, t, y))
        still = STOP_SHARE * self.fastest
        if y - self.highest < fall or drop > still:
            return None
        since = min(floor - fall, y) if abs(y - floor) <= near else y - still
        return next((j, tj) for j, tj, yj in self._since_highest if yj >= since)


# A landing whose take-off was not seen: both feet fell `lift_on` or more together (their highest
# points within TOGETHER_S of each other) within DROP_WINDOW_S and stopped. A hop toward the
# camera can rise less in the image than `lift_on` (coming nearer lowers the feet), the more so
# through the live filter; a walk toward it lowers one foot at a time.
DROP_WINDOW_S = 0.5
TOGETHER_S = 0.1


class RecentPath:
    """One ankle's image y over the last `DROP_WINDOW_S` on the floor."""

    def __init__(self) -> None:
        self._path: deque[tuple[int, float, float]] = deque()  # (frame, t, y)

    def add(self, i: int, t: float, y: float) -> None:
        self._path.append((i, t, y))
        while self._path[0][1] < t - DROP_WINDOW_S:
            self._path.popleft()

    def clear(self) -> None:
        self._path.clear()

    def dropped(self, fall: float) -> tuple[Mark, Mark] | None:
        """(highest point, contact) if the ankle has fallen `fall` pixels or more from its highest
        point in the window and stopped (`FallingFoot`'s rule), else None."""
        path = list(self._path)
        if len(path) < 3:
            return None
        k = min(range(len(path)), key=lambda j: path[j][2])
        after = path[k:]
        drops = [b[2] - a[2] for a, b in zip(after, after[1:])]
        if not drops:
            return None
        y, still = after[-1][2], STOP_SHARE * max(drops)
        if y - path[k][2] < fall or drops[-1] > still:
            return None
        contact = next((j, tj) for j, tj, yj in after if yj >= y - still)
        return (path[k][0], path[k][1]), contact


@register
class HopTracker(Tracker):
    name = "hop"
    description = "hops and bounces (landings per leg, ground contact time, landing valgus)"
    # The Hampel filter took a 0.3 s flight for a spike: on the synthetic hop_front the report
    # pass's ankles rose 5-15 px of the model's 25, and 1 of 6 landings was counted.
    despike = False

    def __init__(self, side: Side | None = None, settings: TrackerConfig | None = None) -> None:
        super().__init__(side, settings)
        self.p = self.settings.hop
        self._floor = LegShortening(self.p.floor_window_s)  # for its running maximum
        self._ys: dict[Side, float] = {}  # this frame's ankle image y
        self._falling: dict[Side, FallingFoot] = {}  # the feet in the flight under way
        self._paths = {s: RecentPath() for s in SIDES}  # the feet on the floor, recently
        self._up = {s: False for s in SIDES}
        self._left: dict[Side, Mark | None] = {s: None for s in SIDES}  # first frame off the floor by lift_off
        self._takeoff: Mark | None = None  # first frame of the flight under way
        self._contact: Mark | None = None  # initial contact of the landing under way
        self._last_down: Mark | None = None  # last frame on the floor of that landing
        self._legs: set[Side] = set()
        self._bottom: tuple[int, float, float] | None = None  # (frame, t, flexion)
        self._window_end = 0

    def _lifts(self, m: Metrics) -> dict[Side, float]:
        """How far each ankle stands above the floor, in body lengths (NaN: not seen); the floor
        is held while the feet are off it."""
        self._ys = {s: float(m.leg(s).ankle_y) for s in SIDES}
        if self._takeoff is None:
            self._floor.update(float(m.t_s), max(self._ys.values()))
        return {s: (self._floor.standing - y) / float(m.body_px) for s, y in self._ys.items()}

    def _touched_down(self, i: int, t: float, body_px: float) -> Mark | None:
        """In a flight a foot is down once it has fallen and stopped, whatever its height, unless
        it stopped well above the other (a free foot held up); the earliest such foot's contact."""
        contacts = []
        lowest = max(self._ys.values())
        for s, foot in self._falling.items():
            c = foot.landed(i, t, self._ys[s], self._floor.standing, self.p.lift_on * body_px,
                            self.p.lift_off * body_px)
            if c is not None and self._ys[s] < lowest - self.p.lift_on * body_px:
                c = None
            self._up[s] = c is None
            if c is not None:
                contacts.append(c)
        return min(contacts, default=None)

    def update(self, i: int, m: Metrics) -> list[Event]:
        t = float(m.t_s)
        events: list[Event] = []
        lifts = self._lifts(m)
        if not all(math.isfinite(v) for v in lifts.values()):
            return events
        contact: Mark | None = None
        if self._takeoff is not None:
            contact = self._touched_down(i, t, float(m.body_px))
        else:
            for s in SIDES:
                self._up[s] = lifts[s] > (self.p.lift_off if self._up[s] else self.p.lift_on)
                self._left[s] = None if lifts[s] <= self.p.lift_off else self._left[s] or (i, t)
                self._paths[s].add(i, t, self._ys[s])
            unseen = self._unseen_flight(float(m.body_px))
            if unseen is not None and not all(self._up.values()):
                takeoff, contact = unseen
                if self._contact is not None:
                    self._close(takeoff[1] - self._contact[1], events)
                self._land(contact, events)
        if all(self._up.values()):
            if self._takeoff is None:
                self._takeoff = max((mark for mark in self._left.values() if mark is not None), default=(i, t))
                self._falling = {s: FallingFoot(y) for s, y in self._ys.items()}
            elif self._contact is not None and t - self._takeoff[1] >= self.p.min_flight_s:
                self._close(self._takeoff[1] - self._contact[1], events)  # a real flight: the landing is over
        else:
            if contact is not None and self._takeoff is not None and contact[1] - self._takeoff[1] >= self.p.min_flight_s:
                self._land(contact, events)
            self._takeoff = None
            self._falling = {}
            self._on_floor(i, t, m, events)
        self._sync()
        return events

    def _unseen_flight(self, body_px: float) -> tuple[Mark, Mark] | None:
        """(take-off, contact) of a flight whose take-off the floor rule missed: both feet fell
        together to a lower floor and stopped, at least `min_flight_s` after their highest."""
        drops = [self._paths[s].dropped(self.p.lift_on * body_px) for s in SIDES]
        if any(d is None for d in drops):
            return None
        highs, contacts = [d[0] for d in drops], [d[1] for d in drops]  # type: ignore[index]
        takeoff, contact = min(highs), min(contacts)
        if max(h[1] for h in highs) - takeoff[1] > TOGETHER_S or contact[1] - takeoff[1] < self.p.min_flight_s:
            return None
        return takeoff, contact

    def _land(self, contact: Mark, events: list[Event]) -> None:
        for path in self._paths.values():
            path.clear()
        self._floor = LegShortening(self.p.floor_window_s)  # the floor is where the feet came down
        self._floor.update(contact[1], max(self._ys.values()))
        self._contact = self._last_down = contact
        self._legs, self._bottom = set(), None
        self._window_end = contact[0]
        events.append(RepStarted(self.state.reps_done + 1, contact[1]))

    def _on_floor(self, i: int, t: float, m: Metrics, events: list[Event]) -> None:
        if self._contact is None:
            return
        self._last_down = (i, t)
        if t - self._contact[1] <= self.p.landing_window_s + 1e-9:
            self._legs |= {s for s in SIDES if not self._up[s]}
            self._window_end = i
        flex = max((float(m.leg(s).flexion_deg) for s in self._legs), default=math.nan)
        if math.isfinite(flex) and (self._bottom is None or flex > self._bottom[2]):
            self._bottom = (i, t, flex)
        if t - self._contact[1] > self.p.max_contact_s:
            self._close(None, events)

    def _close(self, contact_time: float | None, events: list[Event]) -> None:
        assert self._contact is not None and self._last_down is not None
        c, e = self._contact, self._last_down
        b = self._bottom or (c[0], c[1], math.nan)
        legs = tuple(s for s in SIDES if s in self._legs) or SIDES
        if self.side is not None:
            legs = (self.side,)
        rep = RepWindow(
            index=len(self.state.reps) + 1,
            start_i=c[0], bottom_i=b[0], end_i=e[0],
            start_s=c[1], bottom_s=b[1], end_s=e[1],
            legs=legs,
            landing=Landing(self._window_end - c[0], contact_time),
        )  # fmt: skip
        self.state.reps.append(rep)
        self.state.working_legs = legs
        self._contact = self._last_down = None
        events.append(RepCompleted(rep))

    def finish(self) -> list[Event]:
        """A landing still on the floor when the recording ends counts, with no contact time."""
        events: list[Event] = []
        if self._contact is not None:
            self._close(None, events)
        self._sync()
        return events

    def _sync(self) -> None:
        self.state.reps_done = len(self.state.reps)
        self.state.rep_in_progress = self.state.reps_done + 1 if self._contact is not None else None
        if self._contact is not None:
            self.state.phase = Phase.DESCENT
        elif self._takeoff is not None:
            self.state.phase = Phase.ASCENT
        else:
            self.state.phase = Phase.STANDING

    @property
    def loaded(self) -> bool:
        return self._contact is not None
