"""hop on constructed landmarks (pure, fast): landings counted per leg, initial contact and ground
contact time against the scripted ones, landing valgus judged on FPPA in the landing window, and
a stumble (one foot lifted, or a one-frame flight) not counted."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import PoseLandmark as P, Side
from formcheck.media.sources import Frame
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import tracker_class
from formcheck.trackers.hop import HOVER_S, FallingFoot, RecentPath
from tests.builders import LegPose, pose_frame
from tests.trackers.test_trackers_exercises import BLANK, FPS, run_legs

LEG_LANDMARKS = {
    Side.LEFT: (P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX),
    Side.RIGHT: (P.RIGHT_KNEE, P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX),
}


def hops(n: int, flight_s: float = 0.3, contact_s: float = 0.4, lead_s: float = 1.5, tail_s: float = 1.5):
    """Per frame: body lift (pixels, 0 on the floor), knee flexion, and the scripted (contact frame,
    take-off frame) of each landing; the last landing stays down."""
    n_frames = int(round((lead_s + n * (flight_s + contact_s) + tail_s) * FPS))
    lift, flex = np.zeros(n_frames), np.full(n_frames, 8.0)
    truth = []
    f = int(round(lead_s * FPS))
    fl, ct = int(round(flight_s * FPS)), int(round(contact_s * FPS))
    for k in range(n):
        lift[f : f + fl] = 40.0 * np.sin(np.pi * (np.arange(fl) + 0.5) / fl)  # about 0.1 body lengths at the apex
        c = f + fl
        bend = np.sin(np.pi * np.arange(ct) / ct)
        flex[c : c + ct] = 8.0 + 37.0 * bend  # absorb to 45 degrees and push off
        truth.append((c, c + ct if k < n - 1 else None))
        f = c + ct
    return lift, flex, truth


def _run(lift, flex, feet=(Side.LEFT, Side.RIGHT), shift=None, free_up=None, side=None):
    """The body raised by `lift` pixels (the feet listed in `feet`; a free foot held up by `free_up`)."""

    def edit(i, f):
        f.image_xy[:, 1] -= lift[i]
        if free_up is not None:
            for lm in LEG_LANDMARKS[free_up][1:]:
                f.image_xy[lm, 1] -= 60.0
        if shift is not None:
            for s in feet:
                sign = 1.0 if s is Side.LEFT else -1.0  # medial is toward the image centre
                f.image_xy[LEG_LANDMARKS[s][0], 0] -= sign * shift[i]

    return run_legs("hop", flex, flex, edit=edit, side=side)


def test_double_leg_hops_count_landings_and_contact_times():
    lift, flex, truth = hops(5)
    result = _run(lift, flex)
    reps = [s.rep for s in result.reps]
    assert len(reps) == 5
    for rep, (c, off) in zip(reps, truth):
        assert rep.legs == (Side.LEFT, Side.RIGHT)
        assert abs(rep.start_i - c) <= 1
        if off is None:
            assert rep.landing.contact_time_s is None
        else:
            assert rep.landing.contact_time_s == pytest.approx((off - c) / FPS, abs=2 / FPS)
        assert rep.start_i < rep.bottom_i < rep.end_i


def forward_back(lift: np.ndarray, truth: list, nearer_px: float) -> np.ndarray:
    """Per frame, how much lower in the image the person stands: each flight carries them
    `nearer_px` lower (toward the camera), the next as far back, at an even pace."""
    lower = np.zeros_like(lift)
    at, start = 0.0, 0
    for k, (c, _) in enumerate(truth):
        takeoff = start + int(np.flatnonzero(lift[start:c] > 0)[0])
        to = nearer_px if k % 2 == 0 else 0.0
        lower[takeoff:c] = at + (to - at) * (np.arange(c - takeoff) + 0.5) / (c - takeoff)
        lower[c:] = at = to
        start = c
    return lower


def test_forward_back_hops_land_where_the_feet_stop():
    """40 px hops alternately toward the camera and back, 30 px lower and higher in the image:
    landing nearer, the feet pass the take-off floor still falling; landing farther, they stop
    above it. Every landing is counted at its contact."""
    lift, flex, truth = hops(5)
    lower = forward_back(lift, truth, 30.0)
    result = _run(lift - lower, flex)
    assert [s.rep.start_i for s in result.reps] == pytest.approx([c for c, _ in truth], abs=1)
    for rep, (c, off) in zip((s.rep for s in result.reps), truth):
        assert rep.legs == (Side.LEFT, Side.RIGHT)
        if off is not None:
            assert rep.landing.contact_time_s == pytest.approx((off - c) / FPS, abs=2 / FPS)


def test_a_slow_motion_flight_is_one_landing():
    """A 3 s flight, longer than the floor's memory (a slow-motion recording): the floor is held
    through it, so the feet high in the air are not taken for a new floor. Contact within 5
    frames: the last 6 px of a slow fall take 4 frames."""
    lift, flex, truth = hops(2, flight_s=3.0, contact_s=1.0)
    result = _run(lift, flex)
    assert [s.rep.start_i for s in result.reps] == pytest.approx([c for c, _ in truth], abs=5)


def test_caving_landings_are_flagged_by_fppa_in_the_landing_window():
    lift, flex, truth = hops(4)
    shift = np.zeros_like(lift)
    caving = (1, 3)
    for k in caving:
        c = truth[k][0]
        shift[c : c + 12] = 25.0  # knees 25 px toward the midline from contact on
    result = _run(lift, flex, shift=shift)
    assert len(result.reps) == 4
    for k, score in enumerate(result.reps):
        for side in (Side.LEFT, Side.RIGHT):
            v = score.verdict[side]
            assert v.measure.value == "fppa", v
            assert v.valgus is (k in caving), (k, side, score.peak_fppa_deg)


def test_single_leg_hops_count_for_the_hopping_leg():
    lift, flex, truth = hops(3)
    result = _run(lift, flex, free_up=Side.LEFT)
    assert [s.rep.legs for s in result.reps] == [(Side.RIGHT,)] * 3


def test_a_stumble_is_not_a_landing():
    lift, flex, _ = hops(2)
    # a one-frame "flight" of both feet, and one foot lifted for half a second while standing
    lift[10] = 40.0
    result = _run(lift, flex)
    assert len(result.reps) == 2

    def edit_one_foot(i, f):
        f.image_xy[:, 1] -= lift[i]
        if 200 <= i < 215:
            for lm in LEG_LANDMARKS[Side.LEFT][1:]:
                f.image_xy[lm, 1] -= 50.0

    still = np.full(260, 8.0)
    lift = np.zeros(260)
    assert run_legs("hop", still, still, edit=edit_one_foot).reps == []


def test_a_foot_stopping_just_above_the_take_off_floor_lands_where_it_stopped():
    """Fallen far enough and stopped, but short of the take-off floor by more than `fall`: the
    contact is the first frame at its resting height (a seated knee extension's foot did this)."""
    foot = FallingFoot((0, 0.0, 390.0))
    ys = [393.0, 394.5, 394.5]
    got = [foot.landed((i, i / FPS, y), floor=400.0, near=10.0, fall=4.0) for i, y in enumerate(ys, start=1)]
    assert got == [None, None, (2, 2 / FPS)]


def _hops_toward_the_camera(n: int, tuck_deg: float | None = None):
    """`hops(n)` rising only 6 px above the take-off floor while each carries the person 30 px
    lower in the image (nearer); the knees bent `tuck_deg` in each flight if given."""
    lift, flex, truth = hops(n)
    lift *= 6.0 / 40.0
    lower = np.zeros_like(lift)
    for k, (c, _) in enumerate(truth):
        takeoff = int(np.flatnonzero(lift[:c] > 0)[-1]) - int(round(0.3 * FPS)) + 1
        lower[takeoff:c] = 30.0 * k + 30.0 * (np.arange(c - takeoff) + 0.5) / (c - takeoff)
        lower[c:] = 30.0 * (k + 1)
        if tuck_deg is not None:
            flex[takeoff:c] = tuck_deg
    return lift - lower, flex, truth


def test_a_hop_toward_the_camera_that_barely_rises_in_the_image_is_a_landing():
    """Each hop carries the person 30 px lower in the image (nearer) while it rises only 6 px
    above the take-off floor (about 0.015 body lengths, under `lift_on`): both feet fell together
    to a lower floor and stopped, so each is a landing, at its contact; each landing ends before
    the next begins, and its contact time runs to the next take-off, up to 4 frames late: the
    feet first move less than `lift_off` a frame as the rise and the coming nearer cancel."""
    lift, flex, truth = _hops_toward_the_camera(4)
    reps = [s.rep for s in _run(lift, flex).reps]
    assert [r.start_i for r in reps] == pytest.approx([c for c, _ in truth], abs=1)
    for rep, nxt in zip(reps, reps[1:]):
        assert rep.end_i < nxt.start_i
    for rep, (c, off) in zip(reps, truth):
        if off is not None:
            assert rep.landing.contact_time_s == pytest.approx((off - c) / FPS, abs=4 / FPS + 1e-6)


def test_a_landing_whose_next_flight_is_seen_late_keeps_a_bottom_on_the_floor():
    """The same hops toward the camera, the knees tucked to 90 degrees in each flight (deeper than
    the landings' 45). The floor rule dates each take-off from the feet, up to 4 frames late (as
    above), and only once they are down again; each landing's bottom is still a frame of its own
    on the floor, from its deepest bend on, not its contact (nor a frame of the flight after it)."""
    lift, flex, truth = _hops_toward_the_camera(4, tuck_deg=90.0)
    reps = [s.rep for s in _run(lift, flex).reps]
    assert len(reps) == 4
    deepest_on_floor = int(round(0.4 * FPS)) // 2
    for rep, (c, _) in zip(reps, truth):
        assert c + deepest_on_floor - 1 <= rep.bottom_i <= rep.end_i


def _step_lower(i: int, f, starts: dict, by_px: float, frames: int = 8) -> None:
    """Each foot listed in `starts` moves `by_px` lower in the image from its start frame on."""
    for side, start in starts.items():
        down = by_px * np.clip((i - start) / frames, 0.0, 1.0)
        for lm in LEG_LANDMARKS[side][1:]:
            f.image_xy[lm, 1] += down


@pytest.mark.parametrize("gap_s", [0.3, 0.4])
def test_walking_toward_the_camera_is_not_a_landing(gap_s):
    """One foot, then the other, steps 30 px lower in the image (nearer), `gap_s` apart."""
    still = np.full(150, 8.0)
    starts = {Side.LEFT: 50, Side.RIGHT: 50 + int(round(gap_s * FPS))}
    assert run_legs("hop", still, still, edit=lambda i, f: _step_lower(i, f, starts, 30.0)).reps == []


def test_walking_away_and_back_is_not_a_landing_and_hops_after_it_count():
    """One foot, then the other, steps 60 px higher in the image (away from the camera), stands
    there 2 s, and walks back: no landing, though both feet stood above the floor they left;
    then two hops on the spot are counted at their contacts."""
    lift, flex, truth = hops(2, lead_s=6.0)
    starts_away = {Side.LEFT: 30, Side.RIGHT: 42}
    starts_back = {Side.LEFT: 120, Side.RIGHT: 132}

    def edit(i, f):
        f.image_xy[:, 1] -= lift[i]
        _step_lower(i, f, starts_away, -60.0)
        _step_lower(i, f, starts_back, 60.0)

    reps = [s.rep for s in run_legs("hop", flex, flex, edit=edit).reps]
    assert [r.start_i for r in reps] == pytest.approx([c for c, _ in truth], abs=1)


@pytest.mark.parametrize("fps", [25.0, 29.97, 30.0])
def test_a_still_foot_hovers_after_hover_s_at_any_frame_rate(fps):
    foot = FallingFoot((0, 0.0, 400.0))
    times = np.arange(1, int(2.0 * fps)) / fps
    hovering = []
    for i, t in enumerate(times, start=1):
        foot.landed((i, float(t), 400.0), floor=420.0, near=10.0, fall=4.0)
        hovering.append(foot.hovered(float(t), within=4.0))
    first = times[hovering.index(True)]
    assert HOVER_S <= first < HOVER_S + 1.5 / fps


def _one_leg_forward_back(flight_s: float = 0.3, free_rides: bool = True, pelvis_rides: bool = True):
    """Five hops on the right leg, alternately 30 px nearer the camera and back (lower and higher
    in the image), the left foot held 60 px up: riding the flight with the body unless
    `free_rides` is False (a foot resting on a box), the body rising and landing with it unless
    `pelvis_rides` is False (the feet's landmarks glitching while the body stands still, its knees
    unbent). Returns the landings' starts and legs, and the scripted contacts landing nearer and
    farther."""
    lift, flex, truth = hops(5, flight_s=flight_s)
    if not pelvis_rides:
        flex[:] = flex[0]
    lower = forward_back(lift, truth, 30.0)
    up = lift - lower
    legs = set(LEG_LANDMARKS[Side.LEFT][1:] + LEG_LANDMARKS[Side.RIGHT][1:])
    body = [lm for lm in P if lm not in legs]

    def edit(i, f):
        f.image_xy[:, 1] -= up[i]
        if not pelvis_rides:
            f.image_xy[body, 1] += up[i]
        for lm in LEG_LANDMARKS[Side.LEFT][1:]:
            f.image_xy[lm, 1] -= 60.0 - (0.0 if free_rides else up[i])

    reps = [s.rep for s in run_legs("hop", flex, flex, edit=edit).reps]
    nearer = [c for k, (c, _) in enumerate(truth) if k % 2 == 0]
    farther = [c for k, (c, _) in enumerate(truth) if k % 2 == 1]
    return [r.start_i for r in reps], [r.legs for r in reps], nearer, farther


def test_one_leg_hops_landing_farther_from_the_camera_count():
    starts, legs, nearer, farther = _one_leg_forward_back()
    assert starts == pytest.approx(sorted(nearer + farther), abs=2)
    assert legs == [(Side.RIGHT,)] * 5


@pytest.mark.parametrize("case", ["slow", "free foot still", "pelvis still"])
def test_one_leg_rises_that_are_not_hops_do_not_land_farther(case):
    """The one-leg rule for a landing farther away (its foot stops above the take-off floor) needs
    a short flight, the free foot moving with the body and the pelvis's arc: a 1.2 s rise and fall
    (a step up onto a box and down), a free foot resting still, or feet rising without the body
    (glitching landmarks) land no farther landing. Landings nearer the camera are on the floor."""
    kwargs = {"slow": {"flight_s": 1.2}, "free foot still": {"free_rides": False}, "pelvis still": {"pelvis_rides": False}}
    starts, _, nearer, farther = _one_leg_forward_back(**kwargs[case])
    assert not any(abs(s - c) <= 2 for s in starts for c in farther)
    assert [s for s in starts if any(abs(s - c) <= 2 for c in nearer)] == pytest.approx(nearer, abs=2)


def _live(flex, edit, dropped=frozenset()):
    """The per-frame pipeline alone (what `live` runs), frames in `dropped` never seen: the
    pipeline, and per frame seen its number and the working legs after it."""
    pipe = Pipeline(None, tracker_class("hop")(None), Config())  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    rows, working = [], []
    for i in range(len(flex)):
        f = pose_frame(i / FPS, LegPose(flex[i]), LegPose(flex[i]), noise_px=0.5, rng=rng)
        edit(i, f)
        if i not in dropped:
            rows.append(i)
            working.append(pipe.process_pose(Frame(i, i / FPS, BLANK), f).state.working_legs)
    return pipe, rows, working


def test_live_cues_on_alternating_one_leg_hops_name_the_leg_landing_now():
    """Hops from one leg to the other, the landing knee caving 25 px on every landing: every
    landing is cued, on its own leg, though the landing before was on the other leg (the live
    coach judges the knees of the landing under way, not of the last one closed)."""
    lift, flex, truth = hops(4)
    landing_leg = [Side.RIGHT if k % 2 == 0 else Side.LEFT for k in range(4)]
    starts = [c - int(round(0.3 * FPS)) for c, _ in truth]  # each flight's take-off

    def leg_at(i):
        return landing_leg[max([k for k, s0 in enumerate(starts) if s0 <= i], default=0)]

    def edit(i, f):
        f.image_xy[:, 1] -= lift[i]
        for lm in LEG_LANDMARKS[leg_at(i).other][1:]:
            f.image_xy[lm, 1] -= 60.0  # the free foot held up
        if any(c <= i < c + 12 for c, _ in truth):
            sign = 1.0 if leg_at(i) is Side.LEFT else -1.0
            f.image_xy[LEG_LANDMARKS[leg_at(i)][0], 0] -= sign * 25.0

    pipe, _, _ = _live(flex, edit)
    assert [r.legs for r in pipe.tracker.state.reps] == [(leg,) for leg in landing_leg]
    cues = pipe.recording.cue_events
    for (c, _), leg in zip(truth, landing_leg):
        assert {q.leg for q in cues if c / FPS <= q.raised_s <= (c + 12) / FPS} == {leg}, (c, leg)
    assert len(cues) == 4


def test_a_foot_still_slowing_at_the_contact_lands_with_the_other_when_the_frames_after_are_lost():
    """Two-foot hops; the left foot settles over five frames after the right stops (8 px above it
    at the contact, then 6, 4.5, 3, 1.5), and the five frames from four after each contact on
    are lost (dropped live): the left foot, level with the right and fallen with the flight,
    landed with it, so each landing is on both legs. Seen only after the landing window, it
    would be left out (it was, on three of the four)."""
    lift, flex, truth = hops(4)
    contacts = [c for c, _ in truth]
    settle = {0: 8.0, 1: 6.0, 2: 4.5, 3: 3.0, 4: 1.5}

    def edit(i, f):
        f.image_xy[:, 1] -= lift[i]
        up = max((settle.get(i - c, 0.0) for c in contacts), default=0.0)
        for lm in LEG_LANDMARKS[Side.LEFT][1:]:
            f.image_xy[lm, 1] -= up

    lost = frozenset(j for c in contacts for j in range(c + 4, c + 9))
    pipe, rows, working = _live(flex, edit, lost)
    reps = pipe.tracker.state.reps
    assert [rows[r.start_i] for r in reps] == pytest.approx(contacts, abs=2)
    assert [r.legs for r in reps] == [(Side.LEFT, Side.RIGHT)] * 4
    assert (Side.RIGHT,) not in working  # live judged both knees from each contact on


def test_a_barely_risen_take_off_with_its_top_frame_unseen_is_dated_at_the_rise():
    """A sole's image y through a hop toward the camera (the live pipeline on the synthetic
    `hop_fwdback_front`, frames 136-154), its top frame (146, 431.8 px) dropped: it rose 3.5 px
    from where it stood, under `near` (the flight's take-off level, 4.6 px at this body size),
    then fell 35 px nearer. The take-off is where it rose past half its rise (frame 145), not
    where it fell back past the standing level (148: a flight of 0.10 s, too short to count)."""
    ys = {136: 434.9, 137: 434.9, 138: 435.3, 139: 435.6, 140: 436.1, 141: 436.4, 142: 436.5, 143: 436.1,
          144: 434.8, 145: 433.0, 147: 433.7, 148: 442.7, 149: 456.6, 150: 463.3, 151: 466.0, 152: 467.0,
          153: 467.7, 154: 468.1}
    path = RecentPath()
    for i, y in ys.items():
        path.add((i, i / FPS, y))
    drop = path.dropped(fall=9.2, near=4.6)
    assert drop is not None
    assert (drop.last_down[0], drop.takeoff[0]) == (144, 145)
    assert drop.contact[0] - drop.takeoff[0] >= 4  # at least 0.13 s (`min_flight_s`)


@pytest.mark.parametrize("body_rises", [True, False], ids=["step up onto a box", "walk away"])
def test_stepping_up_or_away_foot_by_foot_and_bending_the_knees_is_not_a_landing(body_rises):
    """Each foot in turn 40 px higher in the image, 0.33 s apart (onto a box, the whole body rising
    with the second foot; or walking away from the camera), then the knees bend to 45 degrees and
    back within 0.5 s: both feet stand still and level above the floor they left while the pelvis
    comes down onto them, as in a landing, but the feet did not leave the floor together: no
    landing."""
    n = 150
    flex = np.full(n, 8.0)
    flex[55:85] = 8.0 + 37.0 * np.sin(np.pi * np.arange(30) / 30)
    starts = {Side.LEFT: 30, Side.RIGHT: 40}
    legs = set(LEG_LANDMARKS[Side.LEFT][1:] + LEG_LANDMARKS[Side.RIGHT][1:])
    body = [lm for lm in P if lm not in legs]

    def edit(i, f):
        _step_lower(i, f, starts, -40.0)
        if body_rises:
            f.image_xy[body, 1] -= 40.0 * np.clip((i - starts[Side.RIGHT]) / 8, 0.0, 1.0)

    assert run_legs("hop", flex, flex, edit=edit).reps == []
