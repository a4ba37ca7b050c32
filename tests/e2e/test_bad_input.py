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
    assert s["partial"] is True and "truncated" in s["partial_reason"] and s["stopped_early"] is False


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


def staged(out: Path, name: str) -> Path | None:
    """The file a running analysis is writing into its staging folder inside `out`."""
    found = sorted(out.glob(f".formcheck-run-*/{name}"))
    return found[0] if found else None


def start_analysis(out: Path, video: Path, model_path: Path, *extra: str) -> subprocess.Popen:
    """`formcheck analyze` in the background, returned once its frames are flowing."""
    import os

    env = dict(os.environ, FORMCHECK_MODEL=str(model_path))
    # A test run started in the background by a shell without job control inherits SIGINT
    # ignored, and so would the child (Python keeps an inherited SIG_IGN, as it should for a
    # background job). A handler here is reset to the default in the child when it starts, so
    # the child is interruptible as in a terminal, however the tests were launched.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "formcheck", "analyze", str(video), "--out", str(out), "--quiet", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, inherited)
    # Wait until frames are flowing (the staged annotated video is growing).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        video_so_far = staged(out, "annotated.mp4")
        if video_so_far is not None and video_so_far.stat().st_size > 200_000:
            break
        time.sleep(0.2)
    assert proc.poll() is None, f"analysis ended before it could be stopped (exit {proc.returncode})"
    return proc


@pytest.mark.parametrize(("stop", "code", "said"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_and_sigterm_keep_what_was_measured(tmp_path, model_path, media_dir, stop, code, said):
    """SIGINT or SIGTERM mid-analysis: exit 130 / 143, every file written, summary marked partial."""

    out = tmp_path / "o"
    proc = start_analysis(out, media_dir / "lateral_lunge_front_01.mp4", model_path)
    proc.send_signal(stop)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, f"stderr: {stderr!r}"
    assert said in stderr and "Traceback" not in stderr
    video = out / "annotated.mp4"
    s = json.loads((out / "summary.json").read_text())
    assert s["partial"] is True and said in s["partial_reason"] and s["stopped_early"] is True
    assert not list(out.glob(".formcheck-*")), "the staging folder is committed away"
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
    from formcheck.clinic.store import Store

    with Store(tmp_path / "f.db") as store:
        assert len(store.sessions("pd")) == 2
    proc = run_cli(["analyze", "day2/squat.mp4", "--out", "squat", "--quiet", "--no-video"], model_path, env_extra=env, cwd=tmp_path)
    assert_one_line_error(proc, 2, "another video", "--overwrite")
    assert load_summary(tmp_path / "squat")["source"]["sha256"] == first["source"]["sha256"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_failed_run_leaves_the_earlier_result_whole(tmp_path, model_path):
    """A video with no person (exit 2) analysed into a folder holding a result changes nothing there."""
    out = tmp_path / "o"
    assert run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(out), "--quiet"], model_path).returncode == 0
    before = _files(out)
    rng = np.random.default_rng(1)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (9, 9), 3) for _ in range(30)]
    empty = write_video(tmp_path / "empty_room.mp4", frames)
    assert_one_line_error(run_cli(["analyze", str(empty), "--out", str(out), "--overwrite"], model_path), 2, "no person found")
    assert _files(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


def test_a_failed_run_into_a_new_folder_leaves_nothing(tmp_path, model_path):
    rng = np.random.default_rng(2)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (9, 9), 3) for _ in range(30)]
    empty = write_video(tmp_path / "empty_room.mp4", frames)
    out = tmp_path / "new"
    assert_one_line_error(run_cli(["analyze", str(empty), "--out", str(out)], model_path), 2, "no person found")
    assert not out.exists()


def test_kill_9_mid_run_leaves_the_earlier_result_whole(tmp_path, model_path, media_dir):
    """The earlier result stays whole; the next run into the folder clears the killed run's staging."""
    out = tmp_path / "o"
    assert run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(out), "--quiet"], model_path).returncode == 0
    before = _files(out)
    proc = start_analysis(out, media_dir / "lateral_lunge_front_01.mp4", model_path, "--overwrite")
    proc.kill()
    proc.communicate(timeout=60)
    assert _files(out) == before
    assert run_cli(["analyze", str(SAMPLES / "squat_front_clean.mp4"), "--out", str(out), "--quiet", "--overwrite", "--no-video"],
                   model_path).returncode == 0  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["frames.csv", "landmarks.npy", "report.html", "summary.json"]
    assert load_summary(out)["source"]["path"].endswith("squat_front_clean.mp4")


def test_date_and_patient_are_checked_before_the_analysis(tmp_path, model_path):
    env = {"FORMCHECK_DB": str(tmp_path / "f.db")}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env).returncode == 0
    started = time.monotonic()
    proc = run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(tmp_path / "o"), "--patient", "pd", "--date", "notadate"],
                   model_path, env_extra=env)  # fmt: skip
    assert_one_line_error(proc, 2, "not a date")
    assert not (tmp_path / "o").exists(), "no analysis ran"
    proc = run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(tmp_path / "o"), "--patient", "nobody"], model_path, env_extra=env)
    assert_one_line_error(proc, 2, "no patient")
    assert not (tmp_path / "o").exists()
    assert time.monotonic() - started < 120  # generous: only that it did not analyse (a few s each)


@pytest.mark.parametrize("port", ["70000", "-1", "65536"])
def test_serve_refuses_a_port_out_of_range(port):
    assert_one_line_error(run_cli(["serve", "--port", port], None), 2, "port")


def test_config_naming_a_folder_is_refused(tmp_path, model_path):
    proc = run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(tmp_path / "o"), "--config", str(tmp_path)], model_path)
    assert_one_line_error(proc, 2, "config file")


def _cannot_create_in(folder: Path) -> bool:
    try:
        (folder / ".formcheck-probe").touch()
    except OSError:
        return True
    (folder / ".formcheck-probe").unlink()
    return False


def test_report_into_an_unwritable_folder_is_exit_2(tmp_path):
    env = {"FORMCHECK_DB": str(tmp_path / "f.db")}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env).returncode == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        # root writes into a 0500 folder; sysfs takes no new files from anyone
        folder = next((f for f in (locked, Path("/sys")) if _cannot_create_in(f)), None)
        if folder is None:
            pytest.skip("no folder this user cannot write to")
        proc = run_cli(["report", "--patient", "pd", "--out", str(folder / "r.csv")], None, env_extra=env)
        assert_one_line_error(proc, 2, "r.csv")
        assert not (folder / "r.csv").exists()
    finally:
        locked.chmod(0o700)


def test_report_into_a_missing_folder_is_exit_2(tmp_path):
    env = {"FORMCHECK_DB": str(tmp_path / "f.db")}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env).returncode == 0
    proc = run_cli(["report", "--patient", "pd", "--out", str(tmp_path / "no" / "such" / "r.csv")], None, env_extra=env)
    assert_one_line_error(proc, 2, "does not exist")


def test_a_read_only_summary_from_an_earlier_run_is_replaced_whole(tmp_path, model_path):
    """An earlier run's summary.json the user cannot write (0444): the next run into the folder
    replaces the whole set by renaming its files into place (no write into the old file), exit 0."""
    import os

    out = tmp_path / "o"
    run = ["analyze", str(SAMPLES / "squat_front_clean.mp4"), "--out", str(out), "--quiet", "--no-video"]
    assert run_cli(run, model_path).returncode == 0
    before = load_summary(out)
    (out / "summary.json").chmod(0o444)
    old_inode = (out / "summary.json").stat().st_ino
    proc = run_cli([*run, "--threshold", "11"], model_path)
    assert proc.returncode == 0, proc.stderr
    after = load_summary(out)
    assert after["thresholds"]["valgus_fppa_deg"] == 11 != before["thresholds"]["valgus_fppa_deg"]
    assert (out / "summary.json").stat().st_ino != old_inode  # a new file renamed in, as root too
    assert os.access(out / "summary.json", os.R_OK)


def test_import_of_a_summary_missing_keys_is_exit_2_and_records_nothing(tmp_path, model_path):
    env = {"FORMCHECK_DB": str(tmp_path / "f.db")}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env).returncode == 0
    out = tmp_path / "o"
    assert run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(out), "--quiet", "--no-video"], model_path).returncode == 0
    s = load_summary(out)
    del s["exercise"]
    s["reps"][0]["verdict"] = "caved"
    (out / "summary.json").write_text(json.dumps(s))
    assert_one_line_error(run_cli(["import", str(out), "--patient", "pd"], None, env_extra=env), 2, "summary")
    from formcheck.clinic.store import Store

    with Store(tmp_path / "f.db") as store:
        assert store.sessions("pd") == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["patient", "add", "pd\n"], "patient ID"),
        (["patient", "prescribe", "pd", "-e", "squat", "--sets", "99999999999999999999999", "--reps", "8"], "sets"),
        (["patient", "prescribe", "pd", "-e", "balance", "--hold", "nan"], "hold"),
        (["patient", "prescribe", "pd", "-e", "balance", "--hold", "inf"], "hold"),
        (["patient", "prescribe", "pd", "-e", "squat", "--reps", "100000"], "reps"),
    ],
)
def test_patient_values_out_of_range_are_refused(tmp_path, args, fragment):
    env = {"FORMCHECK_DB": str(tmp_path / "f.db")}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env).returncode == 0
    assert_one_line_error(run_cli(args, None, env_extra=env), 2, fragment)
    listing = run_cli(["patient", "list"], None, env_extra=env)
    assert listing.returncode == 0 and listing.stdout.splitlines()[0].startswith("pd\t")
    assert "inf" not in listing.stdout and "nan" not in listing.stdout


@pytest.mark.parametrize(("stop", "code", "said"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
@pytest.mark.parametrize("after_s", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.9])  # the early ones land in C-extension imports
def test_stopping_while_starting_up_is_one_line(tmp_path, model_path, stop, code, said, after_s):
    """Stopped while the libraries or the model load: nothing measured, one line, 130 / 143, no folder left."""
    import os

    out = tmp_path / "o"
    env = dict(os.environ, FORMCHECK_MODEL=str(model_path))
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "formcheck", "analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(out), "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, inherited)
    # From when formcheck's entry point runs (it catches SIGTERM first thing): before that, while
    # Python itself starts, no program can answer a signal. Seen in the process's caught-signal mask.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        caught = next(ln for ln in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if ln.startswith("SigCgt:"))
        if int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1:
            break
        time.sleep(0.005)
    time.sleep(after_s)
    proc.send_signal(stop)
    _, stderr = proc.communicate(timeout=120)
    lines = [ln for ln in stderr.splitlines() if ln.startswith("formcheck")]
    assert proc.returncode == code and len(lines) == 1 and said in lines[0], stderr
    assert "Traceback" not in stderr
    if "before anything was measured" in lines[0]:
        assert not out.exists()
    else:  # a slow start on a busy machine reached the frames: partial results instead
        assert load_summary(out)["partial"] is True


def test_a_full_disk_is_one_line_and_keeps_the_earlier_result(tmp_path, model_path):
    """The disk fills mid-run (a file-size limit stands in for it): exit 2 with one line; the
    folder's earlier result is untouched."""
    import os
    import resource

    out = tmp_path / "o"
    assert run_cli(["analyze", str(SAMPLES / "squat_front.mp4"), "--out", str(out), "--quiet"], model_path).returncode == 0
    before = _files(out)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    proc = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", str(SAMPLES / "squat_front_clean.mp4"), "--out", str(out), "--overwrite", "--quiet"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, FORMCHECK_MODEL=str(model_path)), preexec_fn=small_files,
    )  # fmt: skip
    assert_one_line_error(proc, 2, "too large")
    assert _files(out) == before
