"""Hops and bounces (`hop`): on the spot, forward and back, side to side, on two legs or one.

Each foot is read at its sole, the lower of heel and toe in the image: a landing touches down toe
first and a take-off leaves from the toes, and initial contact is the first touch (the
drop-landing convention). The floor is the lowest either sole has stood over `floor_window_s` on
the floor (a running maximum of image y, `signals.LegShortening`'s; one floor for both feet, so a
free foot held up from the start is not taken as standing), and a standing foot is off the floor
once its sole is more than `lift_on` body lengths above it, back on under `lift_off`. A flight
is every foot off the floor at once: for a single-leg hop the free foot is held up throughout, so
the same rule covers both. A flight shorter than `min_flight_s` (a stumble, a frame of jitter)
is not a hop: the contact before it goes on. The take-off is the frame the last foot rose past
`lift_off`.

In a flight, a foot comes down when it has fallen `lift_off` or more from its highest point and
stopped falling (`came_to_rest`), unless it stopped `lift_on` or more above the other foot (a free
foot held up); the floor is then where it landed. Landing more than `lift_on` above the take-off
floor (farther from the camera), where a hop falls only its height less the floor's rise, half
that fall will do, but only with both feet stopped level with each other, or on one leg within
`ONE_LEG_FLIGHT_S` of the take-off with the free foot held up and moving with the body and the
pelvis risen and come down in the flight (a pistol squat's glitching feet have no such arc, and a
step up onto a box and down again takes longer). With both feet stopped level within
`ONE_LEG_FLIGHT_S` of leaving the floor together (within `TOGETHER_S`), the pelvis coming down
`lift_on` further than the feet will do with no fall at all (the legs bending under the body, as
only a landing does), so a landing whose apex frames were dropped live is still seen. Seen from
the front, a hop toward the camera lands lower in the image than it took off and one away from it
higher, so the take-off floor says neither when the foot lands nor where; the floor is held
through the flight (slow motion too), until every foot has hovered within `lift_off` for
`HOVER_S` (the person stepped up or walked away: no landing). The contact is dated back to the
first frame the foot was within `lift_off` of the take-off floor (or at its resting height, if
that is higher) when it landed there, else to the first frame from which it fell no further than
a stopped foot's drop. A hop toward the camera may not rise `lift_on` in the image at all (least
through the live filter); both feet falling together `lift_on` or more below where
they stood and stopping is then its landing (`RecentPath`). A sole unseen for up to
`UNSEEN_HOLD_S` is held where it was last seen (a one-leg hop's free foot behind the other leg).

A landing is a rep: start = initial contact (the first frame a foot is back on the floor after a
flight), bottom = its deepest knee flexion, end = the last frame on the floor before the next
take-off (or `max_contact_s` after contact when the person stays down). Its legs are the feet
on the floor within the landing window (a foot that fell with the flight and is level with one
that came down is on it too, though still slowing), the working legs from the contact on, so
live cues judge the knees of this landing; its contact time runs from contact to the next take-off.
Scoring reads FPPA at contact and its peak within `landing_window_s` (`judging/scoring.py`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from formcheck.config import TrackerConfig
from formcheck.core.landmarks import SIDES, Side
from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, Landing, Phase, RepCompleted, RepStarted, RepWindow, Tracker, register
from formcheck.trackers.signals import LegShortening

Mark = tuple[int, float]  # (frame, t_s)
Sample = tuple[int, float, float]  # (frame, t_s, sole image y)

# A falling foot has landed once its drop per frame is at most this share of its fastest since
# its highest point: a foot meets the floor within a frame, and the relative rule holds in slow
# motion.
STOP_SHARE = 0.25
# A flight in which every foot has stayed within `lift_off` this long was none: the person stepped
# up, or walked away from the camera one foot at a time. A flying foot hovers only about its apex,
# which even a 3 s (slow-motion) flight of 0.13 body lengths passes through in under 1.5 s.
HOVER_S = 1.5
# A landing whose take-off was not seen: both feet fell `lift_on` or more together (their take-offs
# within TOGETHER_S of each other) within DROP_WINDOW_S and stopped. A hop toward the
# camera can rise less in the image than `lift_on` (coming nearer lowers the feet), the more so
# through the live filter; a walk toward it lowers one foot at a time.
DROP_WINDOW_S = 0.5
TOGETHER_S = 0.1
# A sole unseen for up to this long is taken to be where it was last seen: the free foot of a
# one-leg hop, held up behind the other leg, drops out of view for up to about half a second.
UNSEEN_HOLD_S = 0.5
# A one-leg hop's free foot rides the flight: it moved at least `lift_off / 2` within this long
# before the landing is seen; a foot standing on a box does not.
RIDE_S = 0.3
# A one-leg hop landing farther from the camera than it took off must come this soon after the
# take-off: a 30 cm hop flies 0.5 s; a step up onto a box and down again, which also rises and
# falls with the other foot up, takes longer (the synthetic step-ups 1.4 s).
ONE_LEG_FLIGHT_S = 0.8
HIP_FRAMES = 64  # mid-hip heights kept: back to the take-off mark, dated before the flight is seen (1 s at 60 fps)


def came_to_rest(fall_path: list[Sample], fall: float) -> Mark | None:
    """When a sole came to rest, if it has: `fall_path` runs from its highest point to now; it
    has fallen `fall` pixels or more and this frame's drop is at most `STOP_SHARE` of the fastest
    on the way. The first frame from which it fell no more than that drop."""
    if len(fall_path) < 2:
        return None
    drops = [b[2] - a[2] for a, b in zip(fall_path, fall_path[1:])]
    y, still = fall_path[-1][2], STOP_SHARE * max(drops)
    if y - fall_path[0][2] < fall or drops[-1] > still:
        return None
    return next((j, tj) for j, tj, yj in fall_path if yj >= y - still)


class FallingFoot:
    """One foot (its sole) through a flight, from its highest point on (image y), to date a landing that
    is seen only once the foot stops; and its path over the last `HOVER_S`."""

    def __init__(self, sample: Sample) -> None:
        self._since_highest: list[Sample] = [sample]
        self._recent: deque[Sample] = deque([sample])

    def landed(self, sample: Sample, floor: float, near: float, fall: float) -> Mark | None:
        """When the foot came to rest (`came_to_rest`; how far it must have fallen is the
        caller's to judge, by `fallen`), else None. Landed within `near` pixels of the take-off
        `floor`, that is the first frame it was within `fall` of the floor or, if it came to rest
        higher than that, at its resting height."""
        i, t, y = sample
        self._recent.append(sample)
        while len(self._recent) > 1 and self._recent[1][1] <= t - HOVER_S:
            self._recent.popleft()  # keeps one sample at or before the window's start
        if y <= self._since_highest[0][2]:
            self._since_highest = []
        self._since_highest.append(sample)
        rest = came_to_rest(self._since_highest, 0.0)
        if rest is None or abs(y - floor) > near:
            return rest
        return next((j, tj) for j, tj, yj in self._since_highest if yj >= min(floor - fall, y))

    @property
    def fallen(self) -> float:
        """How far (pixels) the foot is below its highest point."""
        return self._since_highest[-1][2] - self._since_highest[0][2]

    def moved(self, since: float) -> float:
        """How far (pixels) the foot has moved up or down since time `since` (at most `HOVER_S` ago)."""
        k = max((j for j, (_, tj, _) in enumerate(self._recent) if tj <= since), default=0)
        ys = [y for _, _, y in list(self._recent)[k:]]  # one sample at or before `since` (sparse live frames)
        return max(ys) - min(ys)

    def hovered(self, t: float, within: float) -> bool:
        """Whether the foot has stayed within `within` pixels for the last `HOVER_S`."""
        ys = [y for _, _, y in self._recent]
        return t - self._recent[0][1] >= HOVER_S and max(ys) - min(ys) <= within


@dataclass(frozen=True)
class Drop:
    """A sole's fall to a lower floor: the frame it left the level it stood at before (take-off)
    and the frame before that (its last on the floor), and where it stopped."""

    last_down: Mark
    takeoff: Mark
    contact: Mark


class RecentPath:
    """One sole's image y over the last `DROP_WINDOW_S` on the floor."""

    def __init__(self) -> None:
        self._path: deque[Sample] = deque()

    def add(self, sample: Sample) -> None:
        self._path.append(sample)
        while self._path[0][1] < sample[1] - DROP_WINDOW_S:
            self._path.popleft()

    def clear(self) -> None:
        self._path.clear()

    def dropped(self, fall: float, near: float) -> Drop | None:
        """The sole's fall of `fall` pixels or more from its highest point in the window to where
        it came to rest, if there is one, with its take-off: the first frame off the level it
        stood at, rising to that point (past `near`, or past half the rise if that is less) or, if
        it rose less than `near / 2`, falling from it (past `near`)."""
        path = list(self._path)
        k = min(range(len(path)), key=lambda j: path[j][2], default=0)
        contact = came_to_rest(path[k:], fall)
        if contact is None:
            return None
        stood = max(y for _, _, y in path[: k + 1])
        rise = stood - path[k][2]
        # A rise under `2 * near` is dated at half the rise, not at `near`: a hop toward the camera
        # rises about `near`, and with its top frame missed it would read as no rise, its take-off
        # dated at the fall and its flight too short; one at `near` exactly would be dated at its
        # top. A frame of jitter read as a rise dates one foot early, which parts the two feet's
        # take-offs (`TOGETHER_S`) rather than making a flight of a fall that was none.
        if rise >= near / 2:
            off = 1 + max(j for j in range(k + 1) if path[j][2] >= stood - min(near, rise / 2))
        else:
            off = 1 + max(j for j in range(k, len(path)) if path[j][2] <= stood + near)
        off = min(off, len(path) - 1)
        last = max(off - 1, 0)
        return Drop((path[last][0], path[last][1]), (path[off][0], path[off][1]), contact)


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
        self._ys: dict[Side, float] = {}  # this frame's sole image y (held while briefly unseen)
        self._seen: dict[Side, float] = {}  # when each sole was last seen
        self._falling: dict[Side, FallingFoot] = {}  # the feet in the flight under way
        self._paths = {s: RecentPath() for s in SIDES}  # the feet on the floor, recently
        self._up = {s: False for s in SIDES}
        self._off_since: dict[Side, Mark | None] = {s: None for s in SIDES}  # first frame past lift_off
        self._takeoff: Mark | None = None  # first frame of the flight under way
        self._contact: Mark | None = None  # initial contact of the landing under way
        self._last_down: Mark | None = None  # last frame on the floor of that landing
        self._legs: set[Side] = set()
        self._flexion: list[tuple[int, float, float]] = []  # (frame, t, flexion) since the contact
        self._hips: deque[tuple[int, float]] = deque(maxlen=HIP_FRAMES)  # recent frames' mid-hip image y
        self._hip_off = self._hip_top = math.nan  # mid-hip y at the flight's take-off, and its highest since
        self._left_together = False  # both feet left the floor within TOGETHER_S (not a step up, foot by foot)
        self._window_end = 0

    def _lifts(self, m: Metrics) -> dict[Side, float]:
        """How far each sole stands above the floor, in body lengths (NaN: not seen for
        `UNSEEN_HOLD_S`); the floor is held while the feet are off it."""
        t = float(m.t_s)
        for s in SIDES:
            y = float(m.leg(s).sole_y)
            if math.isfinite(y):
                self._ys[s], self._seen[s] = y, t
            elif t - self._seen.get(s, -math.inf) > UNSEEN_HOLD_S:
                self._ys[s] = math.nan
        if self._takeoff is None:
            self._floor.update(float(m.t_s), max(self._ys.values()))
        return {s: (self._floor.standing - y) / float(m.body_px) for s, y in self._ys.items()}

    def _touched_down(self, i: int, t: float, body_px: float) -> Mark | None:
        """In a flight a foot is down once it has fallen `lift_off` and stopped on the take-off
        floor or below it (nearer the camera), unless it stopped well above the other foot (a free
        foot held up); above it (farther away), where a hop's fall is its height less the floor's
        rise, half that fall will do, but only once the other foot has stopped too, the two at one
        height, or on one leg (see `one_leg` below); with both feet stopped level and the pelvis
        coming down onto them (`absorbing`), no fall is needed. The earliest such foot's contact."""
        near, fall = self.p.lift_on * body_px, self.p.lift_off * body_px
        floor, lowest = self._floor.standing, max(self._ys.values())
        rested = {s: foot.landed((i, t, self._ys[s]), floor, near, fall) for s, foot in self._falling.items()}
        stopped = all(c is not None for c in rested.values()) and lowest - min(self._ys.values()) <= fall
        together = stopped and all(f.fallen >= fall / 2 for f in self._falling.values())
        # Within ONE_LEG_FLIGHT_S of both feet leaving the floor together, both feet stopped level
        # and the pelvis come down `lift_on` further than either foot since its highest point: the
        # legs bend under the body as it lands (in the flight the feet fall with the pelvis or
        # ahead of it; stepping up onto something, foot by foot, and bending the knees there is no
        # flight). This tells a landing farther away from the flight's apex when the apex frames
        # were not seen (dropped live).
        short = self._takeoff is not None and t - self._takeoff[1] <= ONE_LEG_FLIGHT_S
        absorbing = (stopped and short and self._left_together
                     and (self._hips[-1][1] - self._hip_top) - max(f.fallen for f in self._falling.values()) >= near)
        # On one leg: a flight of at most ONE_LEG_FLIGHT_S, the free foot held up and moving with
        # the body (within RIDE_S), and the pelvis risen `lift_on` in the flight and come down as
        # far again. A step up onto a box and down again is slower, a glitching foot has no arc.
        arc = self._hip_off - self._hip_top >= near and self._hips[-1][1] - self._hip_top >= near
        contacts = []
        for s, c in rested.items():
            farther = self._ys[s] < floor - near
            one_leg = (arc and short and self._ys[s.other] < self._ys[s] - near
                       and self._falling[s.other].moved(t - RIDE_S) >= fall / 2)
            fallen = self._falling[s].fallen
            if c is not None and (self._ys[s] < lowest - near or (farther and not (together or absorbing or one_leg))
                                  or (not farther and fallen < fall) or (farther and fallen < fall / 2 and not absorbing)):
                c = None
            self._up[s] = c is None
            if c is not None:
                contacts.append(c)
        # A foot that fell with the flight and is level with one that came down landed with it,
        # though still slowing: with the frames after the contact unseen (dropped live), it would
        # otherwise miss the landing window and its knee go unjudged.
        down = [self._ys[s] for s in SIDES if not self._up[s]]
        for s in SIDES:
            if down and self._up[s] and self._falling[s].fallen >= fall and min(abs(self._ys[s] - y) for y in down) <= fall:
                self._up[s] = False
        return min(contacts, default=None)

    def _hovered(self, t: float, body_px: float) -> bool:
        """Every foot of the flight under way has stayed within `lift_off` for `HOVER_S`."""
        return all(f.hovered(t, self.p.lift_off * body_px) for f in self._falling.values())

    def update(self, i: int, m: Metrics) -> list[Event]:
        t = float(m.t_s)
        events: list[Event] = []
        lifts = self._lifts(m)
        if not all(math.isfinite(v) for v in lifts.values()):
            return events
        self._hips.append((i, float(m.left.hip_y + m.right.hip_y) / 2))
        if self._takeoff is not None:
            self._hip_top = min(self._hip_top, self._hips[-1][1])
        contact: Mark | None = None
        if self._takeoff is not None:
            contact = self._touched_down(i, t, float(m.body_px))
            if contact is None and self._hovered(t, float(m.body_px)):
                self._takeoff, self._falling = None, {}
                self._rebase(t)
                self._up = {s: False for s in SIDES}
        else:
            for s in SIDES:
                self._up[s] = lifts[s] > (self.p.lift_off if self._up[s] else self.p.lift_on)
                self._off_since[s] = None if lifts[s] <= self.p.lift_off else self._off_since[s] or (i, t)
                self._paths[s].add((i, t, self._ys[s]))
            unseen = self._unseen_flight(float(m.body_px))
            if unseen is not None and not all(self._up.values()):
                if self._contact is not None:
                    self._last_down = max(unseen.last_down, self._contact)
                    # its frames from the take-off on were the flight, which may tuck the knees deeper
                    self._flexion = [f for f in self._flexion if f[0] < unseen.takeoff[0]]
                    self._close(unseen.takeoff[1] - self._contact[1], events)
                self._land(unseen.contact, events)
        if all(self._up.values()):
            if self._takeoff is None:
                marks = [mark for mark in self._off_since.values() if mark is not None]
                self._takeoff = max(marks, default=(i, t))
                self._left_together = len(marks) == len(SIDES) and self._takeoff[1] - min(marks)[1] <= TOGETHER_S
                self._falling = {s: FallingFoot((i, t, y)) for s, y in self._ys.items()}
                self._hip_off = next((y for j, y in self._hips if j >= self._takeoff[0]), self._hips[-1][1])
                self._hip_top = min(y for j, y in self._hips if j >= self._takeoff[0])
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

    def _unseen_flight(self, body_px: float) -> Drop | None:
        """A flight whose take-off the floor rule missed: both feet fell together to a lower floor
        and stopped, at least `min_flight_s` after the later take-off (the earlier, with a free foot
        held up: unseen behind the other leg, it is dated late); dated by its feet."""
        drops = [self._paths[s].dropped(self.p.lift_on * body_px, self.p.lift_off * body_px) for s in SIDES]
        if any(d is None for d in drops):
            return None
        offs = [d.takeoff[1] for d in drops]  # type: ignore[union-attr]
        last_off = max(drops, key=lambda d: d.takeoff)  # type: ignore[arg-type, return-value]
        contact = min(d.contact for d in drops)  # type: ignore[union-attr]
        off = min(offs) if any(self._up.values()) else max(offs)
        if max(offs) - min(offs) > TOGETHER_S or contact[1] - off < self.p.min_flight_s:
            return None
        return Drop(last_off.last_down, last_off.takeoff, contact)

    def _rebase(self, t: float) -> None:
        """The floor is where the feet stand now."""
        for path in self._paths.values():
            path.clear()
        self._floor = LegShortening(self.p.floor_window_s)
        self._floor.update(t, max(self._ys.values()))

    def _land(self, contact: Mark, events: list[Event]) -> None:
        self._rebase(contact[1])  # the floor is where the feet came down
        self._contact = self._last_down = contact
        self._legs, self._flexion = set(), []
        self._window_end = contact[0]
        events.append(RepStarted(self.state.reps_done + 1, contact[1]))

    def _on_floor(self, i: int, t: float, m: Metrics, events: list[Event]) -> None:
        if self._contact is None:
            return
        self._last_down = (i, t)
        in_window = t - self._contact[1] <= self.p.landing_window_s + 1e-9
        # A landing confirmed late (its contact dated back, or its window's frames dropped) takes
        # the feet down on its first frame seen on the floor.
        if in_window or not self._legs:
            self._legs |= {s for s in SIDES if not self._up[s]}
            self.state.working_legs = self._landing_legs()  # live cues judge this landing's knees
        if in_window:
            self._window_end = i
        flex = max((float(m.leg(s).flexion_deg) for s in self._legs), default=math.nan)
        if math.isfinite(flex):
            self._flexion.append((i, t, flex))
        if t - self._contact[1] > self.p.max_contact_s:
            self._close(None, events)

    def _close(self, contact_time: float | None, events: list[Event]) -> None:
        assert self._contact is not None and self._last_down is not None
        c, e = self._contact, self._last_down
        b = max(self._flexion, key=lambda f: f[2], default=(c[0], c[1], math.nan))  # the deepest bend on the floor
        legs = self._landing_legs()
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

    def _landing_legs(self) -> tuple[Side, ...]:
        """The legs of the landing under way: the feet on the floor within its landing window (or
        on its first frame seen on the floor, if that came later)."""
        if self.side is not None:
            return (self.side,)
        return tuple(s for s in SIDES if s in self._legs) or SIDES

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
