"""The one typed pose record every stage after the model speaks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.core.landmarks import NUM_LANDMARKS


@dataclass(frozen=True)
class PoseFrame:
    """One person's landmarks in one frame.

    `image_xy` is in pixels of the analysed frame (not normalised), so angles measured on it are
    true image angles whatever the aspect ratio. `world_xyz` is MediaPipe's metric, hip-centred
    estimate (x to the image right, y down, z away from the camera). `visibility` is in [0, 1].
    """

    t_s: float
    image_xy: np.ndarray  # (33, 2) float, pixels
    world_xyz: np.ndarray  # (33, 3) float, metres
    visibility: np.ndarray  # (33,) float
    image_size: tuple[int, int]  # (width, height)
    people: int = 1  # people the model saw in this frame (at most the poses asked for: people_watch.py)

    def __post_init__(self) -> None:
        if self.image_xy.shape != (NUM_LANDMARKS, 2) or self.world_xyz.shape != (NUM_LANDMARKS, 3):
            raise ValueError("PoseFrame expects 33 landmarks")

    @property
    def centre(self) -> np.ndarray:
        """Mid-hip in pixels: where this person is, for following them from frame to frame."""
        return (self.image_xy[23] + self.image_xy[24]) / 2

    @classmethod
    def from_mediapipe(
        cls, result, t_s: float, image_size: tuple[int, int], follow: np.ndarray | None = None
    ) -> "PoseFrame | None":
        """Adapt a Tasks-API PoseLandmarkerResult; None when no person was found.

        With several people, the one whose mid-hip is nearest `follow` (the person analysed in
        the previous frame) is kept, so analysis never jumps to someone else mid-set; with
        nothing to follow, the largest (by torso-and-leg box), usually the one nearest the camera.
        """
        people = len(result.pose_landmarks)
        if people == 0:
            return None
        w, h = image_size
        arrays = []
        for lms in result.pose_landmarks:
            xy = np.array([(p.x * w, p.y * h) for p in lms], dtype=np.float64)
            vis = np.array([p.visibility if p.visibility is not None else 1.0 for p in lms])
            arrays.append((xy, vis))
        if follow is not None and np.all(np.isfinite(follow)):
            best = int(np.argmin([np.linalg.norm((xy[23] + xy[24]) / 2 - follow) for xy, _ in arrays]))
        else:
            spans = [xy[11:29].max(axis=0) - xy[11:29].min(axis=0) for xy, _ in arrays]
            best = int(np.argmax([float(sp[0] * sp[1]) for sp in spans]))
        xy, vis = arrays[best]
        if result.pose_world_landmarks:
            world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[best]], dtype=np.float64)
        else:
            world = np.full((NUM_LANDMARKS, 3), np.nan)
        return cls(t_s=t_s, image_xy=xy, world_xyz=world, visibility=vis, image_size=image_size, people=people)
