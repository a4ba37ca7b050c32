"""`formcheck batch`: many videos, one folder each, the same numbers as `analyze`, resumable, a bad
video recorded and the rest analysed, patients recorded once; and the same on a Dask cluster with
a worker killed mid-batch."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli

CLIPS = ["squat_front.mp4", "squat_front_clean.mp4", "lunge_front.mp4"]


def _flags(summary: dict) -> list[dict]:
    return [{leg: bool(v) for leg, v in r["valgus"].items()} for r in summary["reps"]]


def _index(out: Path) -> dict[str, dict]:
    with (out / "batch.csv").open() as fh:
        return {Path(r["video"]).name: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory, model_path):
    """Three sample clips and one broken file through `batch --workers 2`, and each clip through `analyze`."""
    root = tmp_path_factory.mktemp("batch")
    videos = root / "videos"
    videos.mkdir()
    for name in CLIPS:
        shutil.copy(SAMPLES / name, videos / name)
    (videos / "broken.mp4").write_bytes((SAMPLES / "squat_front.mp4").read_bytes()[:20_000])
    env = {"FORMCHECK_DB": str(root / "f.db")}
    assert run_cli(["patient", "add", "pa"], None, env_extra=env).returncode == 0
    (root / "patients.csv").write_text("video,patient,date\nsquat_front.mp4,pa,2026-11-01\nlunge_front.mp4,pa,2026-11-02\n")
    proc = run_cli(["batch", str(videos), "--out", str(root / "out"), "--workers", "2", "-e", "squat", "--no-video",
                    "--patients", str(root / "patients.csv")], model_path, env_extra=env)  # fmt: skip
    alone = {}
    for name in CLIPS:
        single = run_cli(["analyze", str(SAMPLES / name), "-e", "squat", "--no-video", "--quiet", "--out", str(root / "alone" / name)], model_path)
        assert single.returncode == 0, single.stderr
        alone[name] = json.loads((root / "alone" / name / "summary.json").read_text())
    return root, proc, alone, env


def test_batch_matches_analyze_and_records_the_bad_video(batch_run):
    root, proc, alone, _ = batch_run
    assert proc.returncode == 2, proc.stderr  # one video failed
    assert "1 of 4 videos failed" in proc.stderr and "Traceback" not in proc.stderr
    index = _index(root / "out")
    assert index["broken.mp4"]["status"] == "failed" and "cannot read" in index["broken.mp4"]["reason"]
    workers = set()
    for name in CLIPS:
        row = index[name]
        assert row["status"] == "done", row
        summary = json.loads((Path(row["out_dir"]) / "summary.json").read_text())
        assert summary["rep_count"] == alone[name]["rep_count"] == int(row["rep_count"])
        assert _flags(summary) == _flags(alone[name])
        assert int(row["flagged_reps"]) == sum(any(f.values()) for f in _flags(summary))
        workers.add(row["worker"])
    assert len(workers) == 2, "two worker processes shared the videos"
    html = (root / "out" / "batch.html").read_text()
    assert all(f'href="{Path(index[n]["out_dir"]).name}/report.html"' in html for n in CLIPS)


def test_patients_are_recorded_once_and_a_rerun_skips_everything(batch_run, model_path):
    root, _, _, env = batch_run
    out = root / "out"
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("summary.json")}
    proc = run_cli(["batch", str(root / "videos"), "--out", str(out), "--workers", "2", "-e", "squat", "--no-video",
                    "--patients", str(root / "patients.csv")], model_path, env_extra=env)  # fmt: skip
    assert proc.returncode == 2  # the broken file fails again, with its reason
    index = _index(out)
    assert [index[n]["status"] for n in CLIPS] == ["skipped"] * 3
    assert {p: p.stat().st_mtime_ns for p in out.rglob("summary.json")} == mtimes, "nothing was analysed again"
    from formcheck.clinic.store import Store

    with Store(root / "f.db") as store:
        sessions = store.sessions("pa")
    assert len(sessions) == 2 and [s["recorded_at"][:10] for s in sessions] == ["2026-11-01", "2026-11-02"]
    # A setting that changes the results: analysed again.
    proc = run_cli(["batch", str(root / "videos" / "squat_front_clean.mp4"), "--out", str(out), "-e", "squat", "--no-video",
                    "--threshold", "9"], model_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _index(out)["squat_front_clean.mp4"]["status"] == "done"


def test_same_named_videos_get_their_own_folders(tmp_path, model_path):
    for day, name in (("day1", "squat_front.mp4"), ("day2", "squat_front_clean.mp4")):
        (tmp_path / day).mkdir()
        shutil.copy(SAMPLES / name, tmp_path / day / "squat.mp4")
    proc = run_cli(["batch", str(tmp_path / "day1" / "squat.mp4"), str(tmp_path / "day2" / "squat.mp4"), "--out", str(tmp_path / "out"),
                    "-e", "squat", "--no-video", "--workers", "1"], model_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders == ["squat", "squat-2"]
    shas = {json.loads((tmp_path / "out" / f / "summary.json").read_text())["source"]["sha256"] for f in folders}
    assert len(shas) == 2


@pytest.mark.parametrize(("args", "said"), [
    (["nothing-here"], "no such file or folder"),
    (["--workers", "0"], "--workers"),
    (["--patients", "missing.csv"], "patient map"),
])  # fmt: skip
def test_bad_batch_input_is_one_line(tmp_path, model_path, args, said):
    videos = [str(SAMPLES / "squat_front.mp4")] if args[0].startswith("--") else []
    proc = run_cli(["batch", *videos, *args, "--out", str(tmp_path / "out")], model_path)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and said in lines[0], proc.stderr


def test_dask_cluster_batch_survives_a_killed_worker(tmp_path, model_path, monkeypatch):
    """A real LocalCluster with two worker processes; one is killed while it analyses a video: the
    batch completes, every video is analysed once and recorded once."""
    distributed = pytest.importorskip("distributed")
    from formcheck.batch import BatchOptions, run_batch
    from formcheck.config import load_config
    from formcheck.pose.model_store import resolve_model
    from formcheck.clinic.store import Store

    monkeypatch.setenv("FORMCHECK_DB", str(tmp_path / "f.db"))
    with Store() as store:
        store.add_patient("pa", "", "")
    videos = []
    for i in range(4):  # four different videos (a byte appended changes the hash, not the frames)
        v = tmp_path / "videos" / f"clip{i}.mp4"
        v.parent.mkdir(exist_ok=True)
        v.write_bytes((SAMPLES / CLIPS[i % 2]).read_bytes() + bytes(i))
        videos.append(v)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        pids = client.run(os.getpid)
        killed: list[int] = []

        def kill_one_when_busy() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if tasks]
                staged = list((tmp_path / "out").glob("*/.formcheck-run-*/landmarks.npy"))
                if busy and staged and any(s.stat().st_size > 50_000 for s in staged):
                    pid = pids[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.1)

        killer = threading.Thread(target=kill_one_when_busy, daemon=True)
        killer.start()
        opts = BatchOptions(out=tmp_path / "out", exercise="squat", config=load_config(), model=resolve_model(model_path, allow_download=False),
                            write_video=False, scheduler=client, patients={v.name: ("pa", None) for v in videos})  # fmt: skip
        outcome = run_batch(videos, opts)
        killer.join(timeout=5)
    finally:
        client.close()
        cluster.close()
    assert killed, "a worker was killed mid-video"
    assert [r.status for r in outcome.results] == ["done"] * 4, [(r.video, r.status, r.reason) for r in outcome.results]
    for r in outcome.results:
        out = Path(r.out_dir)
        assert not list(out.glob(".formcheck-*")) or all("formcheck-run" in p.name for p in out.glob(".formcheck-*"))
        summary = json.loads((out / "summary.json").read_text())
        assert summary["partial"] is False and summary["rep_count"] == r.rep_count
    with Store() as store:
        sessions = store.sessions("pa")
    assert len(sessions) == 4 and len({s["content_sha256"] for s in sessions}) == 4
