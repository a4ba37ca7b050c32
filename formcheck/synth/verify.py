"""Checks synthetic clips against the real pose model: does BlazePose see the drawn joints?

    python -m formcheck.synth.verify sample_videos/*.mp4 [--model PATH]

Runs MediaPipe's PoseLandmarker (Tasks API, VIDEO mode) over each clip and reports the
detection rate, the pixel distance of the model's hips, knees and ankles from the truth, and
the model's FPPA against the true FPPA at each rep's bottom. A renderer change that makes the
figure harder to read shows up here first.
"""

from __future__ import annotations

import argparse
import os
import pathlib
from dataclasses import dataclass

import cv2
import numpy as np

from formcheck.core.landmarks import LEG, SIDES
from formcheck.synth.clip import truth_path
from formcheck.synth.truth import leg_measures, load_truth, truth_landmarks

LEG_JOINTS: dict[str, tuple[int, int]] = {
    name: (int(getattr(LEG[SIDES[0]], name)), int(getattr(LEG[SIDES[1]], name))) for name in ("hip", "knee", "ankle")
}


def default_model_path() -> pathlib.Path:
    """FORMCHECK_MODEL, else ../shared/models/pose_landmarker_full.task beside the repo."""
    env = os.environ.get("FORMCHECK_MODEL")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[3] / "shared" / "models" / "pose_landmarker_full.task"


def detect_clip(video: pathlib.Path, model: pathlib.Path, max_frames: int | None = None) -> np.ndarray:
    """(T, 33, 2) model landmarks in pixels, NaN where no person was found."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                        running_mode=vision.RunningMode.VIDEO)
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out = []
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        i = 0
        while max_frames is None or i < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            img = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            r = lm.detect_for_video(img, int(round(i * 1000 / fps)))
            xy = np.full((33, 2), np.nan)
            if r.pose_landmarks:
                xy = np.array([(p.x * w, p.y * h) for p in r.pose_landmarks[0]])
            out.append(xy)
            i += 1
    cap.release()
    return np.array(out)


@dataclass
class ClipCheck:
    name: str
    frames: int
    detected: float  # fraction of frames with a person
    joint_err_px: dict[str, tuple[float, float]]  # joint -> (median, 90th percentile)
    joint_bias_px: dict[str, tuple[float, float]]  # joint -> median (dx, dy) model minus truth, lateral dx outward
    fppa_err_deg: list[float]  # model minus truth at each rep bottom, per working leg

    def line(self) -> str:
        j = "  ".join(f"{k} {m:.1f}/{p:.1f}" for k, (m, p) in self.joint_err_px.items())
        fe = np.abs(self.fppa_err_deg)
        f = f"FPPA |err| median {np.median(fe):.1f} max {np.max(fe):.1f} (n={len(fe)})" if len(fe) else "no reps"
        b = " ".join(f"{k}({dx:+.1f},{dy:+.1f})" for k, (dx, dy) in self.joint_bias_px.items())
        return f"{self.name}: detected {self.detected:.0%}  px median/p90: {j}  {f}  bias out/down: {b}"


def check_clip(video: pathlib.Path, model: pathlib.Path, max_frames: int | None = None) -> ClipCheck:
    """Model-vs-truth numbers for one clip with its truth JSON beside it."""
    truth = load_truth(truth_path(video))
    found = detect_clip(video, model, max_frames)
    n = len(found)
    true_xy = truth_landmarks(truth)[:n]
    seen = ~np.isnan(found[:, 0, 0])
    errs, bias = {}, {}
    for name, idx in LEG_JOINTS.items():
        diff = found[seen][:, idx] - true_xy[seen][:, idx]
        d = np.linalg.norm(diff, axis=-1).ravel()
        errs[name] = (float(np.median(d)), float(np.percentile(d, 90))) if d.size else (np.nan, np.nan)
        # Sideways error measured outward from the body's midline, so the two legs add up.
        out = np.sign(true_xy[seen][:, idx, 0] - true_xy[seen][:, list(idx), 0].mean(axis=1, keepdims=True))
        bias[name] = (float(np.median(diff[..., 0] * out)), float(np.median(diff[..., 1]))) if d.size else (np.nan,) * 2
    model_legs = leg_measures(found)
    fppa = []
    for rep in truth["reps"]:
        b = rep["bottom_frame"]
        if b < n and seen[b]:
            for leg in rep["legs"]:
                fppa.append(float(model_legs[leg]["fppa_deg"][b] - truth["legs"][leg]["fppa_deg"][b]))
    return ClipCheck(video.name, n, float(seen.mean()) if n else 0.0, errs, bias, fppa)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="+", type=pathlib.Path)
    ap.add_argument("--model", type=pathlib.Path, default=None)
    ap.add_argument("--max-frames", type=int, default=None)
    a = ap.parse_args(argv)
    model = a.model or default_model_path()
    all_err: dict[str, list] = {k: [] for k in LEG_JOINTS}
    fppa: list[float] = []
    for v in a.videos:
        c = check_clip(v, model, a.max_frames)
        print(c.line(), flush=True)
        for k, (m, _) in c.joint_err_px.items():
            all_err[k].append(m)
        fppa += c.fppa_err_deg
    if len(a.videos) > 1:
        j = "  ".join(f"{k} {np.median(v):.1f}" for k, v in all_err.items())
        fe = np.abs(fppa)
        print(f"ALL: median of clip medians px: {j}  FPPA |err| median {np.median(fe):.1f} "
              f"p90 {np.percentile(fe, 90):.1f} (n={len(fe)})")


if __name__ == "__main__":
    main()
