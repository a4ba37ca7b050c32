"""How high the whole body flew before each landing the hop tracker finds, per clip, beside the
name `--exercise auto` gives: the margin of auto's hop and jump rules (`FLIGHT_RISE`, `JUMP_RISE`,
`MIN_HOPS` in formcheck/pipeline/exercise_detect.py). Clips not labelled as jumps come first,
highest flight first: one or two flights at FLIGHT_RISE or above keep auto from naming a squat,
lunge or side lunge, three or more go to the hop rule.

    FORMCHECK_MODEL=/work/shared/models/pose_landmarker_full.task \\
        python -m benchmarks.flights --synth /tmp/std --variants /tmp/variants --media ../shared/media \\
            --extra benchmarks/real_clips --cache /tmp/formcheck-bench-cache

The same sets, landmark caches and per-frame replay as benchmarks/trackers.py.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

from benchmarks.trackers import analyse, cases, landmarks, replayed
from formcheck.config import Config
from formcheck.pipeline.exercise_detect import FLIGHT_RISE, flight_heights
from formcheck.pipeline.report_frames import ReportFrames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", type=pathlib.Path)
    ap.add_argument("--variants", type=pathlib.Path)
    ap.add_argument("--media", type=pathlib.Path)
    ap.add_argument("--extra", type=pathlib.Path)
    ap.add_argument("--extra-cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache/formcheck/real_clips")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp/formcheck-bench-cache"))
    a = ap.parse_args()
    config = Config()
    extra = (a.extra / "manifest.json", a.extra_cache) if a.extra else None
    rows = []
    for group, clip, exercise, _, _, video in cases(a.synth, a.media, extra, a.variants):
        d = landmarks(video, a.cache / group)
        pipe = replayed(d, "auto", config)  # one replay: the flights and auto's name both read its recording
        heights = flight_heights(ReportFrames(pipe.recording, config.thresholds.frontal_max_yaw_deg, despike=False))
        known = heights[np.isfinite(heights)]
        top = float(known.max()) if known.size else float("-inf")
        named = analyse(d, "auto", clip, config, pipe).detection.name
        rows.append((exercise == "hop", -top, group, clip, exercise, known, named))
    print(f"Flights before each landing, standing body lengths (FLIGHT_RISE {FLIGHT_RISE}):\n")
    print("| set | clip | exercise | landings with a flight read | flights at FLIGHT_RISE or above | highest | auto |")
    print("|---|---|---|---|---|---|---|")
    for _, neg_top, group, clip, exercise, known, named in sorted(rows):
        top = f"{-neg_top:.3f}" if np.isfinite(neg_top) else "-"
        print(f"| {group} | {clip} | {exercise} | {known.size} | {int(np.sum(known >= FLIGHT_RISE))} | {top} | {named} |")


if __name__ == "__main__":
    main()
