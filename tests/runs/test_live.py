"""Unit tests of the live loop's pure parts: latency bookkeeping, setup checks, coaching, keys,
safety answers, sound, and the newest-frame mailbox. No camera, window or model needed."""

from __future__ import annotations

import json
import threading
import wave

import numpy as np
import pytest

from formcheck.clinic import safety
from formcheck.core.landmarks import Side
from formcheck.core.metrics import compute_metrics
from formcheck.core.pose_frame import PoseFrame
from formcheck.judging.cues import Cue
from formcheck.judging.feedback import Action, Coach, Controls, VERDICT_SHOW_S
from formcheck.judging.setup_check import Check, SetupCheck, SetupState, framing_problem
from formcheck.judging.verdict import Measure, Verdict
from formcheck.media.sound import Backend, Speaker, audio_device_present, find_backend, write_tone
from formcheck.media.sources import Frame, SourceInfo
from formcheck.runs.latency import LatencyStats, Percentiles
from formcheck.runs.live import PoseFeed, _prompt_stem
from formcheck.trackers import Phase, RepCompleted, RepRejected, RepWindow, TrackerState
from tests.builders import LegPose, pose_frame

# --- latency ---------------------------------------------------------------------------------


def test_capture_time_is_anchored_on_the_fastest_delivery():
    stats = LatencyStats()
    # Frame 0 arrives 50 ms after its media time says (a slow start), frame 1 on time.
    assert stats.received(0.0, 100.05) == pytest.approx(100.05)
    assert stats.received(1 / 30, 100.0 + 1 / 30) == pytest.approx(100.0 + 1 / 30)
    # Frame 0's capture is now known to be 100.0: showing it at 100.08 is 80 ms late.
    stats.shown(0.0, 100.08)
    stats.result(1 / 30, 100.0 + 1 / 30 + 0.040)
    assert stats.cue_shown(1 / 30, 100.0 + 1 / 30 + 0.060) == pytest.approx(0.060)
    stats.skip(3)
    s = stats.summary(dropped_upstream=2)
    assert s["capture_to_display_ms"]["median_ms"] == pytest.approx(80.0)
    assert s["capture_to_pose_done_ms"]["median_ms"] == pytest.approx(40.0)
    assert s["capture_to_cue_ms"]["count"] == 1
    assert (s["frames_in"], s["frames_displayed"], s["frames_analysed"], s["not_analysed"]) == (4, 2, 1, 3)
    assert any("dropped 2 before display, 3 not analysed" in line for line in stats.overlay_lines(2))


def test_percentiles():
    p = Percentiles.of([0.010] * 19 + [0.200])
    assert (p.count, p.median_ms, p.max_ms) == (20, 10.0, 200.0)
    assert 10.0 < p.p95_ms <= 200.0
    assert Percentiles.of([]).short() == "-"


# --- newest-frame mailbox ----------------------------------------------------------------------


INFO = SourceInfo("file", "x", 30.0, 10, 4, 4, 1.0)


class _Upstream:
    info = INFO
    dropped = 5


def _frame(i: int) -> Frame:
    return Frame(i, i / 30, np.zeros((4, 4, 3), np.uint8))


def test_feed_keeps_only_the_newest_frame_and_counts_the_rest():
    stats = LatencyStats()
    feed = PoseFeed(_Upstream(), stats)
    for i in range(4):
        feed.offer(_frame(i))
    feed.end()
    got = [f.index for f in feed]
    assert got == [3]  # the pending frame is still analysed after the end, older ones never
    assert stats.skipped == 3
    assert feed.dropped == 5 + 3  # what run_session reports: upstream drops plus frames never analysed
    assert feed.ready.is_set()


def test_feed_blocks_until_a_frame_and_raises_a_lost_camera_after_the_pending_frame():
    from formcheck.errors import SourceLostError

    feed = PoseFeed(_Upstream(), LatencyStats())
    out: list = []

    def consume() -> None:
        try:
            for f in feed:
                out.append(f.index)
        except SourceLostError as exc:
            out.append(str(exc))

    th = threading.Thread(target=consume)
    th.start()
    feed.ready.wait(2)
    feed.offer(_frame(7))
    feed.end(SourceLostError("camera gone"))
    th.join(2)
    assert out == [7, "camera gone"]


def test_feed_ctrl_c_stops_at_once():
    feed = PoseFeed(_Upstream(), LatencyStats())
    feed.offer(_frame(1))
    feed.end(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        next(iter(feed))


# --- setup coaching -----------------------------------------------------------------------------

SHIFT = np.array([0.0, 300.0])  # builders put the head above the frame; move the body into it


def _framed(t: float, left: LegPose = LegPose(5.0), right: LegPose = LegPose(5.0), yaw: float = 0.0, shift=SHIFT, vis=None) -> PoseFrame:
    p = pose_frame(t, left, right, yaw)
    v = p.visibility if vis is None else vis
    return PoseFrame(t, p.image_xy + shift, p.world_xyz, v, p.image_size)


def _step(check: SetupCheck, pose: PoseFrame | None, light: float = 120.0, started: bool = False):
    if pose is None:
        m = compute_metrics(np.float64(0.0), np.full((33, 2), np.nan), np.full((33, 3), np.nan))
        return check.update(0.0, None, m, light, started)
    m = compute_metrics(np.float64(pose.t_s), pose.image_xy, pose.world_xyz)
    return check.update(pose.t_s, pose, m, light, started)


def test_framing_prompts():
    assert "Step into the frame" in framing_problem(None)
    assert framing_problem(_framed(0.0)) is None
    assert "feet" in framing_problem(_framed(0.0, shift=np.array([0.0, 400.0])))  # feet below the frame
    assert "head" in framing_problem(_framed(0.0, shift=np.array([0.0, 0.0])))  # builders' default: head above
    vis = np.ones(33)
    vis[30] = 0.1  # right heel hidden
    assert "feet" in framing_problem(_framed(0.0, vis=vis))


def test_setup_prompts_in_order_until_each_passes_then_takes_a_3_s_baseline():
    check = SetupCheck()
    assert _step(check, None).prompt.startswith("Step into the frame")
    turned = _step(check, _framed(0.1, yaw=45.0))
    assert turned.passed[Check.BODY] and not turned.passed[Check.VIEW] and "face the camera" in turned.prompt
    dark = _step(check, _framed(0.2), light=20.0)
    assert dark.passed[Check.VIEW] and not dark.passed[Check.LIGHT] and "dark" in dark.prompt.lower()
    t = 0.3
    status = _step(check, _framed(t))
    assert status.active and "Stand tall and still" in status.prompt
    # Bending the knees restarts the baseline clock.
    while t < 2.0:
        t += 1 / 30
        status = _step(check, _framed(t))
    assert status.baseline_progress_s == pytest.approx(1.7, abs=0.05)
    status = _step(check, _framed(t + 1 / 30, LegPose(60.0), LegPose(60.0)))
    assert status.baseline_progress_s == 0.0
    t0 = t = t + 2 / 30
    while status.active:
        t += 1 / 30
        status = _step(check, _framed(t, LegPose(5.0, 0.0), LegPose(5.0, 0.0)))
    assert status.state is SetupState.DONE and t - (t0 + 1 / 30) == pytest.approx(3.0, abs=0.04)  # from the first still frame
    assert all(status.passed.values()) and status.prompt is None
    expected = float(compute_metrics(np.float64(0), _framed(0).image_xy, _framed(0).world_xyz).left.fppa_deg)
    assert status.baseline_fppa_deg[Side.LEFT] == pytest.approx(expected, abs=0.01)


def test_setup_for_work_filmed_from_the_side_asks_for_no_frontal_view_and_no_standing_baseline():
    """Seated or lying knee work judges no valgus: turned 90 degrees with the far heel hidden,
    setup is done as soon as the person is framed and lit, where a squat's setup would ask them to
    face the camera."""
    vis = np.ones(33)
    vis[30] = 0.1  # the far (right) heel hidden
    side_on = _framed(0.1, yaw=90.0, vis=vis)
    squat = _step(SetupCheck(), side_on)
    assert squat.active and not squat.passed[Check.BODY]
    assert framing_problem(side_on, side_on=True) is None
    check = SetupCheck(judges_valgus=False)
    assert "dark" in _step(check, side_on, light=20.0).prompt.lower()
    done = _step(check, _framed(0.2, yaw=90.0, vis=vis))
    assert done.state is SetupState.DONE and done.prompt is None
    assert done.passed == {Check.BODY: True, Check.LIGHT: True}  # no view or baseline was asked for


def test_setup_for_knee_angle_work_asks_to_turn_side_on_while_seen_from_the_front():
    """Knee extension, hamstring curls and knee range of motion are read from the side (the front
    view foreshortens the knee angle): facing the camera, setup asks the person to turn side-on;
    side-on, it is done. Side-lying work (a clamshell) is not asked to turn."""
    vis = np.ones(33)
    vis[30] = 0.1  # the far (right) heel hidden
    check = SetupCheck(judges_valgus=False, side_view=True)
    facing = _step(check, _framed(0.1))
    assert facing.active and facing.passed[Check.BODY] and not facing.passed[Check.SIDE_ON]
    assert "side-on" in facing.prompt
    turned_a_little = _step(check, _framed(0.15, yaw=35.0))  # oblique: the knee still foreshortened
    assert turned_a_little.active and not turned_a_little.passed[Check.SIDE_ON]
    done = _step(check, _framed(0.2, yaw=90.0, vis=vis))
    assert done.state is SetupState.DONE and done.prompt is None
    assert done.passed == {Check.BODY: True, Check.SIDE_ON: True, Check.LIGHT: True}
    lying = SetupCheck(judges_valgus=False)
    assert _step(lying, _framed(0.1)).state is SetupState.DONE


def test_setup_is_skipped_when_a_rep_starts_first():
    check = SetupCheck()
    _step(check, _framed(0.0))
    assert _step(check, _framed(0.1), started=True).state is SetupState.SKIPPED


def test_prompt_countdown_is_not_respoken():
    assert _prompt_stem("Stand tall and still, facing the camera (2 s)") == "Stand tall and still, facing the camera"


# --- coaching and keys -------------------------------------------------------------------------


def _rep(i: int, end_s: float) -> RepCompleted:
    return RepCompleted(RepWindow(i, 0, 1, 2, end_s - 2, end_s - 1, end_s, (Side.LEFT, Side.RIGHT)))


def _cue(side: Side, t: float) -> Cue:
    return Cue(side, Verdict(Measure.FPPA, 14.0, 10.0, True), raised_s=t, crossed_s=t - 0.03)


def test_coach_counts_sets_and_gives_a_verdict_per_rep():
    coach = Coach(target_reps=2, target_sets=2)
    st = TrackerState(phase=Phase.DESCENT)
    coach.update(1.0, [], [_cue(Side.RIGHT, 1.0)], st)
    assert coach.update(2.0, [_rep(1, 2.0)], [], st) == []
    v = coach.status(2.5).verdict
    assert v.caved == (Side.RIGHT,) and "right knee caved in" in v.text
    assert coach.status(2.0 + VERDICT_SHOW_S + 0.1).verdict is None
    said = coach.update(4.0, [_rep(2, 4.0)], [], st)
    assert said and "Set 1 done" in said[0]
    s = coach.status()
    assert (s.set_number, s.reps_in_set, s.verdict.good) == (2, 0, True)
    assert s.progress_line() == "Set 2/2   rep 0/2"
    coach.update(5.0, [], [_cue(Side.LEFT, 5.0)], st)
    coach.update(5.5, [RepRejected(5.5, "too shallow")], [], st)  # a fidget's cue does not stick to the next rep
    coach.update(6.0, [_rep(3, 6.0)], [], st)
    assert coach.status().verdict.good
    coach.reset_set()
    assert coach.status().reps_in_set == 0 and coach.reps_done == 3
    coach.update(8.0, [_rep(4, 8.0)], [], st)
    assert "All sets done" in coach.update(10.0, [_rep(5, 10.0)], [], st)[0]
    assert coach.status().all_sets_done and "press q" in coach.status().progress_line()


def test_hold_timer():
    coach = Coach()
    hold = TrackerState(phase=Phase.HOLD, working_legs=(Side.RIGHT,))
    coach.update(1.0, [], [], hold)
    coach.update(4.5, [], [], hold)
    s = coach.status()
    assert s.hold_s == pytest.approx(3.5) and s.hold_leg is Side.RIGHT
    assert coach.update(31.0, [], [], hold) == ["30 seconds. Well held."]
    assert coach.update(32.0, [], [], hold) == []
    coach.update(33.0, [], [], TrackerState(phase=Phase.STANDING))
    assert coach.status().hold_s is None and coach.status().last_hold_s == pytest.approx(32.0)


@pytest.mark.parametrize(
    ("keys", "actions", "paused", "quit"),
    [
        ([-1, ord(" ")], [Action.NONE, Action.PAUSE], True, False),
        ([ord(" "), ord(" ")], [Action.PAUSE, Action.RESUME], False, False),
        ([ord("r")], [Action.RESET_SET], False, False),
        ([ord("q"), ord(" ")], [Action.QUIT, Action.NONE], False, True),
        ([27], [Action.QUIT], False, True),
        ([0x100000 | ord("q")], [Action.QUIT], False, True),  # modifier bits from some backends
        ([ord("x")], [Action.NONE], False, False),
    ],
)
def test_controls(keys, actions, paused, quit):
    c = Controls()
    assert [c.key(k) for k in keys] == actions
    assert (c.paused, c.quit) == (paused, quit)


# --- safety questions ---------------------------------------------------------------------------


def test_safety_answers_are_kept_per_user_only_when_none_apply(tmp_path, monkeypatch):
    monkeypatch.setenv(safety.ENV_HOME, str(tmp_path / "home"))
    assert not safety.cleared()
    yes_to_one = safety.all_clear() | {"swelling": True}
    assert safety.any_apply(yes_to_one)
    assert safety.record(yes_to_one, "asked") is None and not safety.cleared()
    assert safety.any_apply(safety.all_clear() | {"full_weight": False}), "cannot put full weight on the leg"
    assert safety.any_apply({}), "an unanswered question counts as one that applies"
    path = safety.record(safety.all_clear(), "asked")
    assert path == tmp_path / "home" / "safety.json" and safety.cleared()
    data = json.loads(path.read_text())
    data["version"] = 0  # the questions changed since: ask again
    path.write_text(json.dumps(data))
    assert not safety.cleared()
    path.write_text("{not json")
    assert not safety.cleared()


# --- sound --------------------------------------------------------------------------------------


class _Proc:
    def __init__(self, argv, **_kw) -> None:
        self.argv = argv
        self.running = True
        self.terminated = False

    def poll(self):
        return None if self.running else 0

    def terminate(self) -> None:
        self.terminated = True
        self.running = False

    def wait(self, timeout=None):
        self.running = False
        return 0


def test_backend_choice_and_degradation():
    which = {"espeak-ng": "/usr/bin/espeak-ng", "aplay": "/usr/bin/aplay"}.get
    assert find_backend(which, lambda: True) == (Backend("speech", "/usr/bin/espeak-ng"), None)
    tone, why = find_backend({"aplay": "/usr/bin/aplay"}.get, lambda: True)
    assert tone == Backend("tone", "/usr/bin/aplay") and "espeak-ng" in why
    assert find_backend(which, lambda: False)[0] is None
    none, why = find_backend(lambda _n: None, lambda: True)
    assert none is None and "screen only" in why


def test_audio_device_detection(tmp_path):
    assert not audio_device_present("linux", {}, tmp_path / "missing")
    (tmp_path / "controlC0").touch()
    assert not audio_device_present("linux", {}, tmp_path)
    (tmp_path / "pcmC0D0p").touch()
    assert audio_device_present("linux", {}, tmp_path)
    assert audio_device_present("linux", {"PULSE_SERVER": "unix:/x"}, tmp_path / "missing")


def test_speaker_cues_cut_in_and_other_sentences_never_queue():
    procs: list[_Proc] = []

    def popen(argv, **kw):
        procs.append(_Proc(argv, **kw))
        return procs[-1]

    spk = Speaker(True, backend=(Backend("speech", "/usr/bin/espeak-ng"), None), popen=popen)
    assert spk.say("Ready")
    assert not spk.say("Set 1 done")  # still speaking: skipped, not queued
    assert spk.say("Push your right knee out", urgent=True)
    assert procs[0].terminated and procs[1].argv[-1] == "Push your right knee out"
    assert spk.spoken == ["Ready", "Push your right knee out"]
    spk.close()


def test_speaker_without_audio_is_silent_with_a_warning():
    spk = Speaker(True, backend=(None, "no audio device found: cues are shown on screen only"), popen=lambda *a, **k: pytest.fail("ran"))
    assert not spk.active and "no audio device" in spk.warning
    assert not spk.say("Push your left knee out", urgent=True)
    assert Speaker(False).warning is None


def test_tone_backend_beeps_only_for_cues(tmp_path):
    procs: list[_Proc] = []
    spk = Speaker(True, backend=(Backend("tone", "/usr/bin/aplay"), "no espeak"), popen=lambda argv, **k: procs.append(_Proc(argv)) or procs[-1])
    assert not spk.say("Set 1 done")
    assert spk.say("Push your left knee out", urgent=True)
    wav = procs[0].argv[-1]
    with wave.open(wav) as w:
        assert w.getnchannels() == 1 and w.getnframes() > 1000
    spk.close()
    with wave.open(str(write_tone(tmp_path / "t.wav", seconds=0.1, rate=8000))) as w:
        assert w.getnframes() == 800
