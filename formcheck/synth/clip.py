"""One synthetic clip on disk: render a scripted motion to mp4 and write its truth beside it."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2

from formcheck.synth.appearance import Appearance
from formcheck.synth.body import BodyShape
from formcheck.synth.camera import Camera
from formcheck.synth.motion import Motion, MotionParams, build_motion
from formcheck.synth.render import FigureRenderer
from formcheck.synth.truth import build_truth, write_truth


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines a clip; the same spec always gives the same frames."""

    name: str
    motion: MotionParams
    camera: Camera = field(default_factory=Camera)
    look: Appearance = field(default_factory=Appearance)
    body: BodyShape = field(default_factory=BodyShape)
    seed: int = 0

    def render_params(self) -> dict:
        m = self.motion
        return {
            "camera": self.camera.to_dict(),
            "tempo_s": m.tempo_s,
            "rest_s": m.rest_s,
            "lead_in_s": m.lead_in_s,
            "depth_deg": m.depth_deg,
            "reps": m.reps,
            "working_leg": m.working_leg.value,
            "alternate": m.alternate,
            "arms": m.arms,
            "step_height_m": m.step_height_m if m.exercise in ("step-up", "step-down") else None,
            "clothing": self.look.to_dict(),
            "body": self.body.to_dict(),
            "seed": self.seed,
        }


def truth_path(video: pathlib.Path) -> pathlib.Path:
    return video.with_name(video.stem + ".truth.json")


def write_clip(spec: ClipSpec, out_dir: pathlib.Path, progress: Callable[[int, int], None] | None = None) -> pathlib.Path:
    """Render `spec` to `out_dir/<name>.mp4` (mp4v, camera size, motion fps) plus its truth JSON."""
    out_dir.mkdir(parents=True, exist_ok=True)
    motion: Motion = build_motion(spec.motion, spec.body, seed=spec.seed)
    renderer = FigureRenderer(spec.camera, spec.look, spec.body, motion.boxes, seed=spec.seed)
    path = out_dir / f"{spec.name}.mp4"
    size = (spec.camera.width, spec.camera.height)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), spec.motion.fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {path}")
    n = len(motion.t_s)
    try:
        for i in range(n):
            blur = None
            if spec.look.motion_blur and i > 0:
                blur = (motion.joints[i] + motion.joints[i - 1]) / 2
            writer.write(renderer.render(motion.joints[i], blur))
            if progress is not None:
                progress(i + 1, n)
    finally:
        writer.release()
    write_truth(build_truth(motion, spec.camera, path.name, spec.render_params()), truth_path(path))
    return path
