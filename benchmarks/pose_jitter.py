"""Pose jitter with one pose, two poses, or formcheck's watch: how much the raw knees shake.

    python benchmarks/pose_jitter.py [--all-real] [CLIP ...]

Runs `PoseEstimator` (formcheck's own model options, VIDEO mode, every frame) over each clip
with `num_poses=1`, `num_poses=2` and the default (`PeopleWatch`: one pose, two while someone
else is in view) and prints, per setting, over frames and both knees, the median and mean of
|x[t+1] - 2 x[t] + x[t-1]| in pixels, and the **glitches**: knee samples whose second difference
exceeds 5% of the person's leg length (median hip-to-ankle distance in the clip), the jumps that
move an FPPA by several degrees for a frame or two, which a median hides. The knees are paired
with the previous frame's by nearness, so a left/right label swap does not count. Default clips: the
synthetic sample_videos/squat_front_clean.mp4 and the real ../shared/media/squat_front_10.mp4
(FORMCHECK_MEDIA); `--all-real` adds every clip of the manifest. Results in RESULTS.md (Speed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MEDIA, MODEL, REPO
from formcheck.core.landmarks import PoseLandmark as P
from formcheck.media.sources import open_source
from formcheck.pose.landmarker import PoseEstimator

SETTINGS = {"1 pose": 1, "2 poses": 2, "watch": None}
GLITCH_LEG_FRACTION = 0.05


def _unswapped(knees: np.ndarray) -> np.ndarray:
    """Knees labelled by nearness to the previous frame's, not by the model's left/right.

    Seen from the side the model often swaps the legs' labels (formcheck's report pass swaps
    them back); a swap is not jitter, so each frame keeps the pairing nearest the last one.
    """
    out = knees.copy()
    for t in range(1, len(out)):
        prev, cur = out[t - 1], out[t]
        if np.isfinite(prev).all() and np.isfinite(cur).all():
            if np.linalg.norm(cur[::-1] - prev, axis=-1).sum() < np.linalg.norm(cur - prev, axis=-1).sum():
                out[t] = cur[::-1]
    return out


def knee_jitter(clip: Path, num_poses: int | None) -> dict[str, float]:
    pts = []
    idx = [P.LEFT_KNEE, P.RIGHT_KNEE, P.LEFT_HIP, P.RIGHT_HIP, P.LEFT_ANKLE, P.RIGHT_ANKLE]
    with PoseEstimator(MODEL, num_poses=num_poses) as est, open_source(clip) as src:
        for f in src:
            p = est.detect(f.image, f.t_s)
            pts.append(p.image_xy[idx] if p is not None else np.full((len(idx), 2), np.nan))
    k = np.array(pts)
    leg = float(np.nanmedian(np.linalg.norm(k[:, 2:4] - k[:, 4:6], axis=-1)))
    knees = _unswapped(k[:, :2])
    d2 = np.linalg.norm(knees[2:] - 2 * knees[1:-1] + knees[:-2], axis=-1)
    return {
        "frames": len(k),
        "median_px": float(np.nanmedian(d2)),
        "mean_px": float(np.nanmean(d2)),
        "leg_px": leg,
        "glitches": int(np.sum(d2 > GLITCH_LEG_FRACTION * leg)),
        "pose_frames": int(np.sum(np.isfinite(k[:, 0, 0]))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--all-real", action="store_true", help="every clip in the media manifest")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    clips = list(args.clips) or [REPO / "sample_videos" / "squat_front_clean.mp4", MEDIA / "squat_front_10.mp4"]
    if args.all_real:
        clips += [MEDIA / e["file"] for e in json.loads((MEDIA / "manifest.json").read_text()) if MEDIA / e["file"] not in clips]
    out = {}
    for clip in clips:
        for name, poses in SETTINGS.items():
            r = knee_jitter(clip, poses)
            out.setdefault(clip.name, {})[name] = r
            print(
                f"{clip.name} {name}: knee second difference median {r['median_px']:.2f} px, mean {r['mean_px']:.2f} px,"
                f" {r['glitches']} glitches (> {GLITCH_LEG_FRACTION * r['leg_px']:.1f} px) over {r['frames']} frames"
                f" ({r['pose_frames']} with a pose)",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
