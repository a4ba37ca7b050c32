"""End-to-end tests of `formcheck live` with the real pose model, the sample clips standing in for a camera.

The clips play at their own frame rate (the test takes as long as the clip). Timing asserts are
tolerant: the machine may be slower than real time, and then frames are dropped, as designed.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.config import Config
from formcheck.media.sources import CameraSource, FrameSource, RealtimeSource, open_source
from formcheck.pose.model_store import resolve_model
from formcheck.runs.live import LiveOptions, run_live
from tests.conftest import SAMPLES, load_summary, run_cli

# Tests that run against the clock share one xdist worker (`--dist loadgroup`), so the CPU
# burners of one never load another.
pytestmark = pytest.mark.xdist_group("realtime")

CUE_LATENCY_S = 0.150
TRUTH_LATENCY_S = 0.250  # tolerance, not a target: see the comment where it is used


def _live_cli(clip: Path, out: Path, model: Path, *extra: str) -> dict:
    proc = run_cli(
        ["live", "--source", str(clip), "--no-window", "--yes", "--quiet", "--out", str(out), *extra],
        model, env_extra={"FORMCHECK_HOME": str(out.parent / "home")},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "live.json").read_text())


def _flags(summary: dict) -> list[dict]:
    return [r["valgus"] for r in summary["reps"]]


def _analysed_times(out: Path) -> np.ndarray:
    with open(out / "frames.csv") as f:
        return np.array([float(r["t_s"]) for r in csv.DictReader(f)])


def _truth_crossing(truth: dict, rep: dict, leg: str, limit: float) -> float:
    fppa = np.asarray(truth["legs"][leg]["fppa_deg"], dtype=float)
    s, e = rep["start_frame"], rep["end_frame"]
    k = np.flatnonzero(fppa[s : e + 1] > limit)
    return float(truth["t_s"][s + int(k[0])])


@pytest.mark.parametrize("clip", ["squat_front.mp4", "squat_front_clean.mp4"])
def test_live_agrees_with_analyze_and_cues_every_caving_rep_in_time(clip, tmp_path, model_path, analyzed):
    video = SAMPLES / clip
    truth = json.loads(video.with_suffix(".truth.json").read_text())
    live = _live_cli(video, tmp_path / "live", model_path)
    live_summary = load_summary(tmp_path / "live")
    ref = load_summary(analyzed(video, "squat"))

    # Same pipeline, tracker and report pass: same reps, same per-rep flags.
    assert live_summary["rep_count"] == ref["rep_count"] == len(truth["reps"])
    assert _flags(live_summary) == _flags(ref) == [r["valgus"] for r in truth["reps"]]
    for name in ("annotated.mp4", "summary.json", "frames.csv", "report.html", "live.json"):
        assert (tmp_path / "live" / name).stat().st_size > 0

    limit = Config().thresholds.valgus_fppa_deg
    analysed = _analysed_times(tmp_path / "live")
    cues = live["cues"]
    for rep in truth["reps"]:
        window = [c for c in cues if rep["start_s"] - 0.2 <= c["raised_s"] <= rep["end_s"]]
        caved = [leg for leg, v in rep["valgus"].items() if v]
        assert sorted({c["leg"] for c in window}) == sorted(caved), f"rep {rep['index']}: cues {window}"
        for leg in caved:
            cue = min((c for c in window if c["leg"] == leg), key=lambda c: c["raised_s"])
            # The done-when: within 150 ms of the crossing on the live causal FPPA (media time).
            assert cue["raised_s"] - cue["crossed_s"] <= CUE_LATENCY_S
            # Against the true FPPA the model's under-reading of the synthetic knee (peak about
            # 20 degrees for a true 26) and the causal filter add about 130-170 ms (benchmarks/
            # RESULTS.md); a frame dropped near the crossing delays the first chance to see it.
            crossing = _truth_crossing(truth, rep, leg, limit)
            near = analysed[(analysed >= crossing - 0.3) & (analysed <= cue["raised_s"])]
            gap = float(np.max(np.diff(near))) if near.size > 1 else 0.0
            allowance = max(0.0, gap - 1.0 / truth["fps"])
            assert 0.0 < cue["raised_s"] - crossing <= TRUTH_LATENCY_S + allowance, (rep["index"], cue, crossing, gap)
    lat = live["latency"]
    assert lat["frames_in"] == truth["frame_count"]
    assert lat["frames_analysed"] == len(analysed)
    assert lat["capture_to_display_ms"]["count"] == lat["frames_displayed"]


class _SlowEstimator:
    """The real model plus a fixed delay: pose far slower than the camera. `taken` holds, for each
    frame given to pose, its media time and the monotonic time pose took it."""

    delay_s = 0.12
    taken: list[tuple[float, float]] = []

    def __init__(self, *a, **kw) -> None:
        from formcheck.pose.landmarker import PoseEstimator

        self._inner = PoseEstimator(*a, **kw)

    def warm_up(self, size):
        self._inner.warm_up(size)

    def detect_shrunk(self, image, t_s, original_size):
        self.taken.append((t_s, time.monotonic()))
        time.sleep(self.delay_s)
        return self._inner.detect_shrunk(image, t_s, original_size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._inner.close()


def _opts(tmp_path: Path, model_path: Path, **kw) -> LiveOptions:
    return LiveOptions(exercise="squat", out_dir=tmp_path / "out", model=resolve_model(model_path), config=Config(), window=False, **kw)


class _CallLog(_SlowEstimator):
    """The real model, logging the calls it gets."""

    delay_s = 0.0
    calls: list[str] = []

    def warm_up(self, size):
        self.calls.append("warm_up")
        super().warm_up(size)

    def detect_shrunk(self, image, t_s, original_size):
        self.calls.append("detect")
        return super().detect_shrunk(image, t_s, original_size)


@pytest.mark.parametrize("warm", [True, False])
def test_live_warms_the_model_before_its_first_frame(tmp_path, model_path, monkeypatch, warm):
    """Live's session (warm_start) runs the people check once before the first frame reaches the
    model; analyze does not (its first frame pays for it, and nothing is dropped there)."""
    from formcheck.runs.analyze import run_session

    monkeypatch.setattr("formcheck.runs.analyze.PoseEstimator", _CallLog)
    monkeypatch.setattr(_CallLog, "calls", [])
    with open_source(SAMPLES / "squat_front_clean.mp4") as source:
        run_session(source, exercise="squat", out_dir=tmp_path, model=resolve_model(model_path), config=Config(),
                    write_video=False, warm_start=warm, on_frame=lambda r: r.frame.index >= 2)
    assert _CallLog.calls[:2] == (["warm_up", "detect"] if warm else ["detect", "detect"])
    assert _CallLog.calls.count("warm_up") == int(warm)


def test_slow_pose_drops_frames_instead_of_queueing(tmp_path, model_path, monkeypatch):
    monkeypatch.setattr("formcheck.runs.analyze.PoseEstimator", _SlowEstimator)
    monkeypatch.setattr(_SlowEstimator, "taken", [])
    video = SAMPLES / "squat_front_clean.mp4"
    source = open_source(video, realtime=True)
    n, duration = source.info.frame_count, source.info.duration_s
    interval = duration / n
    started = time.monotonic()
    live = run_live(source, _opts(tmp_path, model_path, debug=True))
    wall = time.monotonic() - started
    lat = live.latency
    # At most about 1/0.12 = 8 frames a second reach the model; the rest are counted, not queued.
    assert lat["frames_analysed"] <= duration / _SlowEstimator.delay_s + 2
    assert lat["frames_analysed"] + lat["not_analysed"] + lat["dropped_before_display"] == n
    assert lat["not_analysed"] > n / 2
    # Pose takes the newest frame it can: one picked while the previous pose call ran waits at
    # most that call plus a few frame intervals, the same at the end as at the start. A queue
    # would make each frame wait longer than the one before, by seconds at the end.
    taken = np.array(_SlowEstimator.taken)
    assert len(taken) == lat["frames_analysed"] > 10
    lag = taken[:, 1] - taken[:, 0]
    wait = (lag - lag.min())[1:]  # relative to the frame taken soonest after capture (the first)
    pose_period = float(np.median(np.diff(taken[:, 1])))
    third = len(wait) // 3
    assert np.median(wait) < pose_period + 3 * interval, (np.median(wait), pose_period, interval)
    assert np.median(wait[-third:]) < np.median(wait[:third]) + 3 * interval, (wait[:third], wait[-third:])
    # The display kept the camera's pace while pose crawled, and the session did not outlast the clip.
    assert lat["frames_displayed"] > 0.6 * n
    assert wall < duration + 30
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("frames were dropped" in w for w in summary["warnings"])
    assert not summary["partial"]


def test_keys_pause_reset_and_quit_write_the_session(tmp_path, model_path):
    video = SAMPLES / "squat_front.mp4"
    source = open_source(video, realtime=True)
    # Keys pressed on the first displayed frame at or after each index (frames may be dropped).
    pending = [(30, ord(" ")), (45, ord(" ")), (60, ord("r")), (150, ord("q"))]
    pressed: dict[str, float] = {}

    def keys(frame):
        if pending and frame.index >= pending[0][0]:
            _, key = pending.pop(0)
            pressed["pause" if "pause" not in pressed else "resume" if "resume" not in pressed else chr(key)] = frame.t_s
            return key
        return -1

    live = run_live(source, _opts(tmp_path, model_path, record=True, reps=2, sets=2), keys=keys)
    assert live.stopped_by == "user" and not live.outcome.partial
    out = tmp_path / "out"
    for name in ("annotated.mp4", "raw.mp4", "summary.json", "frames.csv", "report.html", "live.json"):
        assert (out / name).stat().st_size > 0, name
    t = _analysed_times(out)
    assert t.max() <= pressed["q"] + 1e-3  # ended at q, long before the clip ends (frames.csv rounds t_s to 0.1 ms)
    # Nothing shown after the pause key was analysed until the frame after the resume key.
    assert not np.any((t > pressed["pause"] + 1e-3) & (t <= pressed["resume"] + 1e-3))
    assert pressed["resume"] - pressed["pause"] > 0.4
    cap = cv2.VideoCapture(str(out / "raw.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 480 and cap.get(cv2.CAP_PROP_FRAME_COUNT) > 100
    cap.release()


class _UnpluggedCamera:
    """A camera (frames from a clip at 30 fps) that stops delivering after `limit` frames."""

    def __init__(self, video: Path, limit: int) -> None:
        self.cap = cv2.VideoCapture(str(video))
        self.limit = limit
        self.reads = 0
        self.next_t = time.monotonic()

    def isOpened(self) -> bool:  # noqa: N802
        return True

    def read(self):
        self.reads += 1
        if self.reads > self.limit:
            return False, None
        self.next_t = max(self.next_t + 1 / 30, time.monotonic())  # 30 fps, no catch-up bursts
        time.sleep(max(0.0, self.next_t - time.monotonic()))
        return self.cap.read()

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def set(self, prop, value) -> bool:
        return True

    def release(self) -> None:
        self.cap.release()


def test_camera_unplugged_mid_session_saves_what_was_measured(tmp_path, model_path):
    cam = CameraSource(0, retry_s=0.3, capture_factory=lambda _i: _UnpluggedCamera(SAMPLES / "squat_front.mp4", 330))
    live = run_live(RealtimeSource(cam, pace=False), _opts(tmp_path, model_path))
    assert live.stopped_by == "source lost" and live.outcome.partial
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["partial"] is True
    assert any("stopped delivering frames" in w for w in summary["warnings"])
    assert live.outcome.lost is not None and "stopped delivering frames" in live.outcome.lost  # what the CLI says
    # a run cut short says so (partial); a rep under way then is not listed as not counted
    assert not any("not counted" in w for w in summary["warnings"]), summary["warnings"]
    # Reps 1-3 end by frame 264 of the 330 delivered; a loaded machine may drop frames of one.
    assert summary["rep_count"] >= 2


def test_live_on_a_truncated_file_keeps_the_truncation_in_the_summary(tmp_path, model_path):
    """`live --source` on a file cut in half: what decodes is coached, and summary.json says the
    file was truncated (partial, with the reason), as analyze's does."""
    cap = cv2.VideoCapture(str(SAMPLES / "squat_front_clean.mp4"))
    frames = []
    while len(frames) < 120:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    full = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    out = tmp_path / "out"
    _live_cli(cut, out, model_path)
    summary = load_summary(out)
    assert summary["partial"] is True and "truncated" in summary["partial_reason"]
    assert any("truncated" in w for w in summary["warnings"])
    assert 0 < summary["source"]["frame_count"] < 120


def test_cli_errors_are_one_clear_line(tmp_path, model_path):
    home = {"FORMCHECK_HOME": str(tmp_path / "home")}
    clip = str(SAMPLES / "squat_front_clean.mp4")
    env = dict(os.environ, FORMCHECK_MODEL=str(model_path), **home)
    no_answers = subprocess.run(  # stdin is not a terminal: no one to ask
        [sys.executable, "-m", "formcheck", "live", "--source", clip, "--no-window", "--out", str(tmp_path / "a")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=300,
    )
    assert no_answers.returncode == 2 and "safety questions" in no_answers.stderr and "--yes" in no_answers.stderr
    no_camera = run_cli(["live", "--camera", "7", "--no-window", "--yes", "--out", str(tmp_path / "b")], model_path, env_extra=home)
    assert no_camera.returncode == 2 and "no camera at index 7" in no_camera.stderr
    # --yes was remembered for this user: no --yes needed now; no display for a window is caught early.
    no_display = run_cli(["live", "--source", clip, "--out", str(tmp_path / "c")], model_path, env_extra=home | {"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert no_display.returncode == 2 and "--no-window" in no_display.stderr
    assert json.loads((tmp_path / "home" / "safety.json").read_text())["method"] == "--yes"


def test_live_session_is_recorded_for_a_patient(tmp_path, model_path):
    env = {"FORMCHECK_HOME": str(tmp_path / "home"), "FORMCHECK_DB": str(tmp_path / "store.sqlite")}
    assert run_cli(["patient", "add", "P1"], model_path, env_extra=env).returncode == 0
    out = tmp_path / "out"
    proc = run_cli(["live", "--source", str(SAMPLES / "squat_front_clean.mp4"), "--no-window", "--yes", "--patient", "P1",
                    "--pain-before", "3", "--out", str(out), "--quiet"], model_path, env_extra=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from formcheck.clinic.store import Store

    store = Store(tmp_path / "store.sqlite")
    try:
        sessions = store.sessions("P1")
    finally:
        store.close()
    assert len(sessions) == 1 and sessions[0]["pain_before"] == 3
    assert sessions[0]["rep_count"] == load_summary(out)["rep_count"] == 2


class _BurstDrops(FrameSource):
    """A clip with frames dropped in bursts of 1-5 between runs of 1-4 kept, as a live session
    drops them when pose falls behind (the looks for a second person take longer than a frame)."""

    def __init__(self, inner: FrameSource, seed: int) -> None:
        import random

        rng, self._keep = random.Random(seed), []
        while len(self._keep) < 100_000:
            self._keep += [True] * rng.randint(1, 4) + [False] * rng.randint(1, 5)
        self.inner, self.info = inner, inner.info

    def __iter__(self):
        for frame in self.inner:
            if self._keep[frame.index]:
                yield frame
            else:
                self.dropped += 1

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("seed", [4, 11])
def test_frames_dropped_in_bursts_do_not_flag_a_clean_squat(seed, tmp_path, model_path):
    # With seed 4 the model, fed these frames, throws the right knee for a few of them and the
    # plain maximum over the rep flagged it (knee-to-toe); a peak must be held (peak_hold_s).
    from formcheck.runs.analyze import run_session

    with _BurstDrops(open_source(SAMPLES / "squat_front_clean.mp4"), seed) as source:
        run_session(source, exercise="squat", out_dir=tmp_path, model=resolve_model(model_path), config=Config(), write_video=False)
    summary = load_summary(tmp_path)
    assert summary["rep_count"] == 2
    assert _flags(summary) == [{"left": False, "right": False}] * 2


@pytest.fixture
def busy_machine():
    """Two processes burning a core each for the length of the test: live must drop frames."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for p in burners:
        p.kill()
        p.wait()


@pytest.mark.parametrize("clip", ["squat_front.mp4", "squat_front_clean.mp4"])
def test_under_load_live_cues_only_caving_knees_and_flags_what_analyze_flags(clip, tmp_path, model_path, analyzed, busy_machine):
    video = SAMPLES / clip
    truth = json.loads(video.with_suffix(".truth.json").read_text())
    live = _live_cli(video, tmp_path / "live", model_path)
    lat = live["latency"]
    assert lat["not_analysed"] + lat["dropped_before_display"] > 0, "the machine was not loaded enough to drop frames"
    live_summary = load_summary(tmp_path / "live")
    ref = load_summary(analyzed(video, "squat"))
    assert _flags(live_summary) == _flags(ref) == [r["valgus"] for r in truth["reps"]]
    for rep in truth["reps"]:
        window = [c for c in live["cues"] if rep["start_s"] - 0.2 <= c["raised_s"] <= rep["end_s"]]
        caved = {leg for leg, v in rep["valgus"].items() if v}
        assert {c["leg"] for c in window} == caved, f"rep {rep['index']}: cues {window}"


@pytest.mark.parametrize("clip", ["squat_front_21.mp4", "squat_front_22.mp4"])
def test_under_load_live_on_real_clips_flags_what_analyze_flags(clip, tmp_path, model_path, analyzed, media_dir, manifest, busy_machine):
    """The same man caving on every rep (both knees) and squatting cleanly, live on a loaded
    machine: the live report flags the knees analyze flags, and cues name no other knee."""
    live = _live_cli(media_dir / clip, tmp_path / "live", model_path)
    lat = live["latency"]
    assert lat["not_analysed"] + lat["dropped_before_display"] > 0, "the machine was not loaded enough to drop frames"
    live_summary = load_summary(tmp_path / "live")
    ref = load_summary(analyzed(media_dir / clip, "squat"))
    # squat_front_22's sixth rep is cut off by the clip's end (labelled unclear): not counted.
    complete = [r for r in manifest[clip]["reps"] if r["valgus_visible"] != "unclear"]
    assert ref["rep_count"] == len(complete)
    # Both clips start with a rep within 0.2 s. Live warms the model before its first frame (it
    # lost the next half second to the model starting up, and with it this rep's right knee), but
    # the tracker's first frame still costs 0.3 s on a very loaded machine. Every rep that live saw
    # from its start, with no gap over 0.25 s in its analysed frames down to the bottom, must carry
    # analyze's flags; only the first may be missed that way.
    seen = _analysed_times(tmp_path / "live")

    def whole(b: dict) -> bool:
        t = np.concatenate([[b["start_s"]], seen[(seen > b["start_s"]) & (seen < b["bottom_s"])], [b["bottom_s"]]])
        return bool(np.all(np.diff(t) <= 0.25))

    seen_whole = [(a, b) for a in live_summary["reps"] for b in ref["reps"]
                  if abs(a["start_s"] - b["start_s"]) <= 0.3 and whole(b)]  # fmt: skip
    assert {b["index"] for _, b in seen_whole} >= set(range(2, ref["rep_count"] + 1))
    # Flagged means caving in; a knee live could not judge (None) is not flagged, and no rep after
    # the first may have one.
    flags = lambda rep: {leg: bool(v) for leg, v in rep["valgus"].items()}  # noqa: E731
    assert [flags(a) for a, _ in seen_whole] == [flags(b) for _, b in seen_whole]
    assert all(v is not None for a, b in seen_whole if b["index"] > 1 for v in a["valgus"].values())
    caving = clip == "squat_front_21.mp4"
    assert all(v is caving for r in ref["reps"] for v in r["valgus"].values())
    flagged = {(r["index"], leg) for r in ref["reps"] for leg, v in r["valgus"].items() if v}
    for c in live["cues"]:
        rep = next((r for r in ref["reps"] if r["start_s"] - 0.2 <= c["raised_s"] <= r["end_s"]), None)
        assert rep is not None and (rep["index"], c["leg"]) in flagged, f"cue {c} on a knee analyze did not flag"
