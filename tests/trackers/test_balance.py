"""Balance progressions on constructed landmarks (pure, fast): a 12 s hold on the right leg, flat,
on tiptoes (the stance heel raised), with head turns (nose and ears turned) or with reaches (the
free foot and a wrist carried away from the body in the world landmarks); the hold's progression
named and its numbers against the constructed ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.config import HoldSettings
from formcheck.core.landmarks import PoseLandmark as P, Side
from formcheck.trackers.balance import measure_progression, swings
from tests.builders import HIP_HALF, PX_PER_M, SHANK, THIGH
from tests.trackers.test_trackers_exercises import FPS, run_legs

T = np.arange(0, 16, 1 / FPS)
HOLD = (T > 2) & (T < 14)
LEG_M = THIGH + SHANK
BODY_PX = (0.5 + LEG_M) * PX_PER_M  # the builder's shoulders to ankles
EAR_PX, NOSE_PX = 0.075 * PX_PER_M, 0.102 * PX_PER_M  # a head with the proportions formcheck assumes


def _bumps(spans: list[tuple[float, float]], ramp_s: float = 0.4) -> np.ndarray:
    """0 outside the spans, 1 inside, with smooth ramps of `ramp_s` at either end."""
    x = np.zeros_like(T)
    for a, b in spans:
        up = np.clip((T - a) / ramp_s, 0, 1)
        down = np.clip((b - T) / ramp_s, 0, 1)
        x = np.maximum(x, np.minimum(up, down))
    return 0.5 - 0.5 * np.cos(math.pi * x)


def _hold(heel_rise=None, head_yaw_deg=None, ankle_out_m=None, wrist_out_m=None):
    """The right leg stands, the left foot up 90 px over HOLD; the right heel raised by
    `heel_rise` body lengths, the head turned by `head_yaw_deg` (+ to the person's left), the left
    ankle and left wrist carried out sideways by these many metres (world landmarks)."""
    flat = np.full_like(T, 5.0)
    up = np.where(HOLD, 90.0, 0.0)

    def edit(i, f):
        if heel_rise is not None:
            f.image_xy[P.RIGHT_HEEL, 1] -= heel_rise[i] * BODY_PX
        yaw = math.radians(head_yaw_deg[i]) if head_yaw_deg is not None else 0.0
        nose_x = f.image_xy[P.NOSE, 0]
        # facing the camera the person's left is the image right
        f.image_xy[P.LEFT_EAR] = [nose_x + EAR_PX * math.cos(yaw) - NOSE_PX * math.sin(yaw), f.image_xy[P.NOSE, 1]]
        f.image_xy[P.RIGHT_EAR] = [nose_x - EAR_PX * math.cos(yaw) - NOSE_PX * math.sin(yaw), f.image_xy[P.NOSE, 1]]
        if ankle_out_m is not None:
            f.world_xyz[P.LEFT_ANKLE, 0] += ankle_out_m[i]
        if wrist_out_m is not None:
            f.world_xyz[P.LEFT_WRIST, 0] += wrist_out_m[i]

    result = run_legs("balance", flat, flat, lift=(up, np.zeros_like(T)), edit=edit)
    assert len(result.holds) == 1
    hold = result.holds[0].hold
    assert hold.leg is Side.RIGHT and hold.progression is not None
    return hold.progression


def test_a_still_flat_foot_hold_is_flat():
    p = _hold()
    assert p.name == "flat"
    assert p.tiptoe_share == 0.0 and abs(p.heel_rise) < 0.005
    assert p.head_turns == 0 and p.head_turn_max_deg < 5
    assert p.reaches == ()


def test_a_hold_on_tiptoes_is_told_from_a_flat_one():
    rise = 0.05 * _bumps([(2.5, 13.5)])  # up on the toes half a second into the hold
    p = _hold(heel_rise=rise)
    assert p.name == "tiptoes"
    share = float(np.mean(rise[HOLD] > HoldSettings().tiptoe_rise))
    assert p.tiptoe_share == pytest.approx(share, abs=0.03)
    assert p.heel_rise == pytest.approx(0.05, abs=0.003)
    # the heel up for under half the hold: a flat hold that rose now and then
    brief = _hold(heel_rise=0.05 * _bumps([(4.0, 8.0)]))
    assert brief.name == "flat" and 0.2 < brief.tiptoe_share < 0.4


def test_head_turns_are_counted_each_way_and_back():
    turns = [(3.0, 4.5, 45.0), (6.0, 7.5, -45.0), (9.0, 10.5, 45.0)]
    yaw = sum(a * _bumps([(s, e)]) for s, e, a in turns)
    p = _hold(head_yaw_deg=yaw)
    assert p.name == "head-turns" and p.head_turns == 3
    assert p.head_turn_max_deg == pytest.approx(45.0, abs=2.0)
    # glances under the threshold are no turns
    assert _hold(head_yaw_deg=12.0 * _bumps([(3.0, 4.5), (6.0, 7.5)])).head_turns == 0


def test_reaches_of_the_free_leg_and_an_arm_with_their_distance():
    ankle = 0.5 * _bumps([(3.0, 5.0), (9.0, 11.0)])  # the free foot out to the side, twice
    wrist = 0.4 * _bumps([(6.0, 8.0)])
    p = _hold(ankle_out_m=ankle, wrist_out_m=wrist)
    assert p.name == "reaches"
    assert [r.limb for r in p.reaches] == ["free-leg", "left-arm", "free-leg"]
    foot = (HIP_HALF + 0.02 + 0.5) / LEG_M  # the builder's ankle sits 0.12 m out
    hand = (0.25 + 0.4) / LEG_M
    assert [r.distance for r in p.reaches] == pytest.approx([foot, hand, foot], abs=0.01)
    for r, (a, b) in zip(p.reaches, [(3.0, 5.0), (6.0, 8.0), (9.0, 11.0)]):
        assert a < r.start_s < r.end_s < b


def test_arms_held_out_all_hold_are_no_reach():
    p = _hold(wrist_out_m=np.where(HOLD | True, 0.4, 0.0))
    assert p.reaches == () and p.name == "flat"


def test_combined_progressions_are_joined():
    rise = 0.05 * _bumps([(2.5, 13.5)])
    yaw = 45.0 * _bumps([(4.0, 5.5), (8.0, 9.5)])
    p = _hold(heel_rise=rise, head_yaw_deg=yaw)
    assert p.name == "tiptoes+head-turns" and p.head_turns == 2


def test_swings_need_to_come_back():
    x = np.array([0, 0.3, 0.5, 0.3, 0.05, 0, 0.4, np.nan, 0.5, 0.3])
    assert swings(x, 0.2, 0.1) == [(1, 3)]  # the second is still out at the end


def test_no_flat_foot_seen_means_tiptoes_unknown():
    t = np.arange(60) / FPS
    p = measure_progression(t, None, np.zeros(60), {"free-leg": np.full(60, 0.2)}, HoldSettings())
    assert p.tiptoe_share is None and p.heel_rise is None and p.name == "flat"


def test_ears_not_apart_leave_the_head_turn_unknown_not_counted():
    """The builder puts no ears on the head (both at one point): the nose's offset from them is
    noise, which read as 33 head turns before the ears' spacing was checked."""
    flat = np.full_like(T, 5.0)
    result = run_legs("balance", flat, flat, lift=(np.where(HOLD, 90.0, 0.0), np.zeros_like(T)))
    p = result.holds[0].hold.progression
    assert p.head_turns == 0 and p.head_turn_max_deg is None and p.name == "flat"
