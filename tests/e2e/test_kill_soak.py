"""Killing formcheck at random moments never loses or mixes data.

Thirty random `kill -9` and SIGTERM over `analyze --patient` (two different clips taking turns in
one output folder) and `import`: after every kill the folder holds one run's files or the run
before's, never a mix; at the end the store passes SQLite's integrity check and every session in
it is whole (its reps are those of the summary it was recorded from).
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np

from tests.conftest import SAMPLES, run_cli

CLIPS = [SAMPLES / "squat_front.mp4", SAMPLES / "squat_front_clean.mp4"]
KILLS = 30


def _folder_is_one_run(out) -> None:
    """summary.json, frames.csv and landmarks.npy in `out` come from the same run."""
    if not (out / "summary.json").exists():
        assert not (out / "frames.csv").exists() and not (out / "landmarks.npy").exists(), sorted(os.listdir(out))
        return
    summary = json.loads((out / "summary.json").read_text())
    with (out / "frames.csv").open() as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    landmarks = np.load(out / "landmarks.npy", mmap_mode="r")
    assert rows == summary["frames_analysed"] == len(landmarks), (rows, summary["frames_analysed"], len(landmarks))


def _start(args: list[str], model_path, env_extra: dict[str, str]) -> subprocess.Popen:
    env = dict(os.environ, FORMCHECK_MODEL=str(model_path), **env_extra)
    env.pop("FORMCHECK_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "formcheck", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_random_kills_never_lose_or_mix_data(tmp_path, model_path):
    rng = random.Random(14)
    db = tmp_path / "f.db"
    env = {"FORMCHECK_DB": str(db)}
    assert run_cli(["patient", "add", "pd"], None, env_extra=env).returncode == 0
    out = tmp_path / "o"
    outcomes: dict[str, int] = {}
    for i in range(KILLS):
        clip = CLIPS[i % 2]
        if i % 3 == 2 and (out / "summary.json").exists():
            args, delay = ["import", str(out), "--patient", "pd"], rng.uniform(0.0, 1.2)
        else:
            args = ["analyze", str(clip), "--out", str(out), "--patient", "pd", "--no-video", "--overwrite", "--quiet"]
            delay = rng.uniform(0.3, 6.0)
        stop = signal.SIGKILL if rng.random() < 0.7 else signal.SIGTERM
        proc = _start(args, model_path, env)
        time.sleep(delay)
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        outcomes[f"{args[0]} {proc.returncode}"] = outcomes.get(f"{args[0]} {proc.returncode}", 0) + 1
        _folder_is_one_run(out)
    # Every kind of ending happened: killed, terminated and finished before the signal.
    assert any(k.endswith(" -9") for k in outcomes) and any(k.endswith(" 143") for k in outcomes), outcomes

    for clip in CLIPS:  # both clips analysed to the end once more
        proc = run_cli(["analyze", str(clip), "--out", str(out), "--patient", "pd", "--no-video", "--overwrite", "--quiet"], model_path, env_extra=env)
        assert proc.returncode == 0, proc.stderr
        _folder_is_one_run(out)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "no staging or journal left behind"

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sessions = conn.execute("SELECT id, rep_count, summary_json, content_sha256 FROM sessions").fetchall()
    assert sessions, "the finished runs were recorded"
    for sid, rep_count, summary_json, _sha in sessions:
        summary = json.loads(summary_json)
        reps = conn.execute("SELECT count(*) FROM reps WHERE session_id = ?", (sid,)).fetchone()[0]
        assert rep_count == summary["rep_count"] == reps, (sid, rep_count, summary["rep_count"], reps)
    assert len({s[3] for s in sessions}) == len(sessions), "no session recorded twice"
    conn.close()
