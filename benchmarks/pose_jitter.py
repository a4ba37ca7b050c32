"""Pose jitter with one or two poses: the frame-to-frame second difference of the raw knees.

    python benchmarks/pose_jitter.py [CLIP ...]

Runs `PoseEstimator` (formcheck's own model options, VIDEO mode, every frame) with
`num_poses=1` and with `num_poses=2` over each clip and prints the median and mean, over frames
and both knees, of |x[t+1] - 2 x[t] + x[t-1]| in pixels: how much the raw landmarks shake.
Default clips: the synthetic sample_videos/squat_front_clean.mp4 and the real
../shared/media/squat_front_10.mp4 (FORMCHECK_MEDIA). Results in RESULTS.md (Speed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MEDIA, MODEL, REPO
from formcheck.landmarks import PoseLandmark as P
from formcheck.pose import PoseEstimator
from formcheck.sources import open_source


def knee_jitter(clip: Path, num_poses: int) -> tuple[float, float, int]:
    knees = []
    with PoseEstimator(MODEL, num_poses=num_poses) as est, open_source(clip) as src:
        for f in src:
            p = est.detect(f.image, f.t_s)
            knees.append(p.image_xy[[P.LEFT_KNEE, P.RIGHT_KNEE]] if p is not None else np.full((2, 2), np.nan))
    k = np.array(knees)
    d2 = np.linalg.norm(k[2:] - 2 * k[1:-1] + k[:-2], axis=-1)
    return float(np.nanmedian(d2)), float(np.nanmean(d2)), len(k)


def main() -> None:
    clips = [Path(c) for c in sys.argv[1:]] or [REPO / "sample_videos" / "squat_front_clean.mp4", MEDIA / "squat_front_10.mp4"]
    for clip in clips:
        for poses in (1, 2):
            median, mean, n = knee_jitter(clip, poses)
            print(f"{clip.name} num_poses={poses}: knee second difference median {median:.2f} px, mean {mean:.2f} px over {n} frames")


if __name__ == "__main__":
    main()
