"""Live hop cues with frames lost: the synthetic hop clips' landmarks replayed through the per-frame
pipeline (what `formcheck live` runs after the model) with frames removed, as a loaded machine
drops them, to count the caving knee-landings left without a cue, the cues on knees that did not
cave, and the runs whose landing count is still right.

    FORMCHECK_MODEL=/work/shared/models/pose_landmarker_full.task \\
        python -m benchmarks.hop_frame_loss --synth /tmp/std --cache /tmp/formcheck-bench-cache [--write]

Losses: each frame at random (5 %, 10 %, 20 %) and runs of three frames starting at 2 % and 7 %
of frames; `--seeds` runs per setting. A cue counts for a landing when it is raised from 50 ms
before the scripted contact to the landing's end; every other cue, and every cue naming a knee
that did not cave on that landing, is a wrong cue. A landing is found when the tracker's contact
is within `MATCH_S` of the scripted one (one found later than that is both missed and extra);
landings found with none scripted are extra. Count right: runs that found as many landings as
were scripted. The landmarks are `benchmarks.trackers`' cache
(the pose model runs once per clip). `--write` puts the table into benchmarks/RESULTS.md (section
"hop-frame-loss").
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, stamp, update_results  # noqa: E402
from benchmarks.trackers import landmarks, replayed  # noqa: E402

CLIPS = ("hop_front", "hop_fwdback_front", "hop_side_front", "hop_oneleg_fwdback_front")
LOSSES = (("random", 0.05), ("random", 0.10), ("random", 0.20), ("burst3", 0.02), ("burst3", 0.07))
MATCH_S = 0.2


def kept(n: int, kind: str, rate: float, seed: int) -> np.ndarray:
    """Which of `n` frames the live loop sees."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.random(n) > rate
    keep = np.ones(n, bool)
    for s in np.flatnonzero(rng.random(n) < rate):
        keep[s : s + 3] = False
    return keep


def from_recording(records: np.ndarray) -> dict:
    """A run's landmarks.npy (`Recording.DTYPE` records) as `benchmarks.trackers.landmarks` gives them."""
    return {"xy": records["image_xy"].astype(float), "world": records["world_xyz"].astype(float),
            "vis": records["visibility"].astype(float), "t": records["t_s"], "people": records["people"]}


def replay(d: dict, keep: np.ndarray, truth: dict) -> np.ndarray:
    """Caving knee-landings, those left without a cue, wrong cues, landings missed, extra
    landings, and 1 if as many landings were found as scripted. `d`: the model's landmarks per
    frame (`benchmarks.trackers.landmarks`, `from_recording`); `truth`: the clip's truth file."""
    pipe = replayed(d, "hop", keep=keep)
    pipe.tracker.finish()
    cues = pipe.recording.cue_events
    caving = missed = right_cues = 0
    for rep in truth["reps"]:
        caved = {leg for leg, v in rep["valgus"].items() if v}
        near = [c for c in cues if rep["start_s"] - 0.05 <= c.raised_s <= rep["end_s"]]
        caving += len(caved)
        missed += len(caved - {c.leg.value for c in near})
        right_cues += sum(c.leg.value in caved for c in near)
    found = [r.start_s for r in pipe.tracker.state.reps]
    count_right = int(len(found) == len(truth["reps"]))
    matched = 0
    for rep in truth["reps"]:
        hit = next((f for f in found if abs(f - rep["start_s"]) <= MATCH_S), None)
        if hit is not None:
            found.remove(hit)
            matched += 1
    return np.array([caving, missed, len(cues) - right_cues, len(truth["reps"]) - matched, len(found), count_right])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", type=pathlib.Path, required=True, help="the synthetic standard set (formcheck samples --out DIR)")
    ap.add_argument("--cache", type=pathlib.Path, required=True, help="benchmarks.trackers' landmark cache")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md (section hop-frame-loss)")
    args = ap.parse_args()
    head = "| clip | frames lost | runs | caving knee-landings | without a cue | wrong cues | landings missed | extra landings | count right |"
    rows = [head, "|" + "---|" * 9]
    totals = np.zeros(6, int)
    for name in CLIPS:
        clip = args.synth / f"{name}.mp4"
        d = landmarks(clip, args.cache / "synthetic")
        truth = json.loads(clip.with_suffix(".truth.json").read_text())
        every = replay(d, np.ones(len(d["t"]), bool), truth)
        rows.append(f"| {name} | none | 1 | " + " | ".join(str(v) for v in every) + " |")
        for kind, rate in LOSSES:
            sums = np.sum([replay(d, kept(len(d["t"]), kind, rate, seed), truth) for seed in range(args.seeds)], axis=0)
            totals += sums
            what = f"{rate:.0%} at random" if kind == "random" else f"3-frame runs from {rate:.0%} of frames"
            rows.append(f"| {name} | {what} | {args.seeds} | " + " | ".join(str(v) for v in sums) + " |")
        print(name, "done", file=sys.stderr)
    n = len(CLIPS) * len(LOSSES) * args.seeds
    rows.append(f"| **all, frames lost** | | {n} | " + " | ".join(str(v) for v in totals) + " |")
    body = "\n".join([
        "## Live hop cues with frames lost",
        "",
        f"Run {stamp()} ({machine()}). `FORMCHECK_MODEL=... python -m benchmarks.hop_frame_loss "
        f"--synth DIR --cache DIR{' --write' if args.write else ''}` (DIR as for benchmarks/trackers.py).",
        "",
        *rows,
    ])
    print(body)
    if args.write:
        update_results("hop-frame-loss", body)


if __name__ == "__main__":
    main()
