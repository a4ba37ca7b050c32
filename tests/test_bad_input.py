"""Bad input ends in one clear line and the contract's exit code, never a traceback or lost data."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import SAMPLES, load_summary, run_cli


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("formcheck: ")
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0, fourcc: str = "mp4v") -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def read_frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    return frames


@pytest.fixture(scope="module")
def clip_frames(media_dir) -> list[np.ndarray]:
    """Frames of a real frontal squat clip (5 reps, 1280x720), downscaled to keep tests quick."""
    return [cv2.resize(f, (640, 360)) for f in read_frames(media_dir / "squat_front_12.mp4")]


def test_missing_file(tmp_path, model_path):
    assert_one_line_error(run_cli(["analyze", str(tmp_path / "nope.mp4")], model_path), 2, "no such file", "nope.mp4")


def test_not_a_video(tmp_path, model_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video\n")
    assert_one_line_error(run_cli(["analyze", str(bogus)], model_path), 2, "cannot read", "notes.mp4")


def test_empty_video(tmp_path, model_path):
    # An AVI whose header is intact but whose data stops before the first frame.
    full = write_video(tmp_path / "full.avi", [np.full((120, 160, 3), 128, np.uint8)] * 5, fourcc="MJPG")
    empty = tmp_path / "empty.avi"
    empty.write_bytes(full.read_bytes()[:4096])
    proc = run_cli(["analyze", str(empty), "--out", str(tmp_path / "o")], model_path)
    assert_one_line_error(proc, 2, "empty.avi")
    assert "no decodable frames" in proc.stderr or "cannot read" in proc.stderr


def test_unknown_exercise(tmp_path, model_path):
    assert_one_line_error(run_cli(["analyze", str(tmp_path / "x.mp4"), "--exercise", "jumping-jacks"], model_path), 2, "unknown exercise")


def test_missing_model(tmp_path, clip_frames):
    video = write_video(tmp_path / "c.mp4", clip_frames[:10])
    proc = run_cli(["analyze", str(video), "--out", str(tmp_path / "o")], None, env_extra={"FORMCHECK_MODEL": str(tmp_path / "absent.task")})
    assert_one_line_error(proc, 2, "absent.task", "FORMCHECK_MODEL")


def test_unwritable_output_folder(tmp_path, model_path, clip_frames):
    video = write_video(tmp_path / "c.mp4", clip_frames[:10])
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = run_cli(["analyze", str(video), "--out", str(blocker / "out")], model_path)
    assert_one_line_error(proc, 2, "output folder")


def test_no_person_anywhere(tmp_path, model_path):
    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (9, 9), 3) for _ in range(30)]
    video = write_video(tmp_path / "empty_room.mp4", frames)
    assert_one_line_error(run_cli(["analyze", str(video), "--out", str(tmp_path / "o")], model_path), 2, "no person found")


def test_truncated_video_is_analysed_with_a_warning(tmp_path, model_path, clip_frames):
    full = write_video(tmp_path / "full.avi", clip_frames[:120], fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o"
    proc = run_cli(["analyze", str(cut), "--out", str(out), "--quiet"], model_path)
    assert proc.returncode == 0, proc.stderr
    s = load_summary(out)
    assert 30 < s["source"]["frame_count"] == s["frames_analysed"] < 120
    assert any("truncated" in w for w in s["warnings"])


def test_person_leaving_the_frame_is_a_warning_not_an_error(tmp_path, model_path, clip_frames):
    blank = np.full_like(clip_frames[0], 235)
    frames = clip_frames[:150] + [blank] * 90 + clip_frames[150:240]
    out = tmp_path / "o"
    proc = run_cli(["analyze", str(write_video(tmp_path / "leaves.mp4", frames)), "--out", str(out), "--quiet"], model_path)
    assert proc.returncode == 0, proc.stderr
    s = load_summary(out)
    assert s["pose_coverage"] == pytest.approx(240 / 330, abs=0.05)
    assert any("found in only" in w for w in s["warnings"])
    with (out / "frames.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    gone = rows[170:230]
    assert all(r["pose"] == "0" and r["fppa_left_deg"] == "" for r in gone)


def test_two_people_in_frame_is_a_warning_and_the_first_is_followed(tmp_path, model_path, media_dir):
    """A second person appears beside the first: analysis warns, and stays with the first person."""
    first = [cv2.resize(f[:, 280:1000], (405, 405)) for f in read_frames(media_dir / "squat_front_10.mp4", 150)]
    second = [cv2.resize(f, (228, 405)) for f in read_frames(media_dir / "squat_front_09.mp4", 150)]
    frames = [np.hstack([a, b]) for a, b in zip(first, second)]
    out = tmp_path / "o"
    proc = run_cli(["analyze", str(write_video(tmp_path / "two.mp4", frames)), "--out", str(out), "--quiet"], model_path)
    assert proc.returncode == 0, proc.stderr
    s = load_summary(out)
    assert any("more than one person" in w for w in s["warnings"])
    # The first person (squat_front_10) does three full reps in these 150 frames; the second stands.
    assert s["rep_count"] == 3


def test_ctrl_c_keeps_what_was_measured(tmp_path, model_path, media_dir):
    """SIGINT mid-analysis: exit 130, every file written, summary marked partial."""
    import os

    out = tmp_path / "o"
    env = dict(os.environ, FORMCHECK_MODEL=str(model_path))
    # A test run started in the background by a shell without job control inherits SIGINT
    # ignored, and so would the child (Python keeps an inherited SIG_IGN, as it should for a
    # background job). A handler here is reset to the default in the child when it starts, so
    # the child is interruptible as in a terminal, however the tests were launched.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "formcheck", "analyze", str(media_dir / "lateral_lunge_front_01.mp4"), "--out", str(out), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, inherited)
    # Wait until frames are flowing (the annotated video is growing), then interrupt.
    deadline = time.monotonic() + 120
    video = out / "annotated.mp4"
    while time.monotonic() < deadline and not (video.exists() and video.stat().st_size > 200_000):
        time.sleep(0.2)
    grown = video.stat().st_size if video.exists() else None
    assert proc.poll() is None, f"analysis ended before the interrupt (exit {proc.returncode}, annotated.mp4 {grown} bytes)"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"annotated.mp4 was {grown} bytes at the interrupt; stderr: {stderr!r}"
    assert "interrupted" in stderr and "Traceback" not in stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["partial"] is True
    with (out / "frames.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert s["source"]["frame_count"] == 964
    assert 0 < len(rows) == s["frames_analysed"] < 964
    cap = cv2.VideoCapture(str(video))
    assert cap.read()[0], "the annotated video written so far must be playable"
    assert "Partial analysis" in (out / "report.html").read_text()


@pytest.mark.parametrize("value", ["nan", "inf", "-3", "0"])
def test_threshold_that_is_not_a_positive_number_is_refused_before_any_work(tmp_path, model_path, value):
    out = tmp_path / "out"
    proc = run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), f"--threshold={value}", "--out", str(out)], model_path)
    assert_one_line_error(proc, 2, "valgus_fppa_deg", "more than zero")
    assert not out.exists()


def test_negative_threshold_in_a_config_file_is_refused(tmp_path, model_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[thresholds]\nvalgus_shank_deg = -1\n")
    proc = run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--config", str(cfg), "--out", str(tmp_path / "o")], model_path)
    assert_one_line_error(proc, 2, "valgus_shank_deg")


def test_a_hostile_video_name_is_escaped_in_the_report(tmp_path, model_path):
    """report.html names the video: a file name carrying markup must come out as text."""
    hostile = tmp_path / "<svg onload=alert(1)>.mp4"
    hostile.write_bytes((SAMPLES / "squat_front_clean.mp4").read_bytes())
    out = tmp_path / "out"
    proc = run_cli(["analyze", str(hostile), "--out", str(out), "--quiet"], model_path)
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text()
    assert "<svg onload" not in html and "&lt;svg onload=alert(1)&gt;" in html


def test_same_named_videos_never_overwrite_each_other(tmp_path, model_path):
    """day1/squat.mp4 and day2/squat.mp4 (different clips) for one patient: two folders, two
    sessions, the first one's files intact; re-analysing day 1 replaces only its own result, and
    --out naming a folder of another video's results is refused unless --overwrite."""
    for day, clip in (("day1", "squat_front.mp4"), ("day2", "squat_front_clean.mp4")):
        (tmp_path / day).mkdir()
        (tmp_path / day / "squat.mp4").write_bytes((SAMPLES / clip).read_bytes())
    env = {"FORMCHECK_DB": str(tmp_path / "f.db"), "FORMCHECK_HOME": str(tmp_path / "home")}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env, cwd=tmp_path).returncode == 0
    for day, date in (("day1", "2026-11-01"), ("day2", "2026-11-08")):
        proc = run_cli(["analyze", f"{day}/squat.mp4", "--patient", "pd", "--date", date, "--quiet", "--no-video"],
                       model_path, env_extra=env, cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    first, second = load_summary(tmp_path / "squat"), load_summary(tmp_path / "squat-2")
    assert first["source"]["path"] == "day1/squat.mp4" and second["source"]["path"] == "day2/squat.mp4"
    assert first["source"]["sha256"] != second["source"]["sha256"]
    assert [any(r["valgus"].values()) for r in first["reps"]] != [any(r["valgus"].values()) for r in second["reps"]]
    from formcheck.store import Store

    with Store(tmp_path / "f.db") as store:
        assert len(store.sessions("pd")) == 2
    proc = run_cli(["analyze", "day2/squat.mp4", "--out", "squat", "--quiet", "--no-video"], model_path, env_extra=env, cwd=tmp_path)
    assert_one_line_error(proc, 2, "another video", "--overwrite")
    assert load_summary(tmp_path / "squat")["source"]["sha256"] == first["source"]["sha256"]
