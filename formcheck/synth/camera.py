"""A pinhole camera orbiting the synthetic person, as a phone on a tripod would see them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Pinhole camera looking at a point on the person's vertical axis.

    `yaw_deg` swings the camera around the person: 0 faces them squarely, positive moves the
    camera toward the person's own left. `height_m` is the lens height above the floor,
    `distance_m` the horizontal distance to the person's axis, `look_at_m` the height it aims at
    (so the whole body stays framed while the lens sits at knee height), `focal_px` the focal
    length in pixels (None: chosen so a `frame_height_m` tall region fills the image height).
    """

    yaw_deg: float = 0.0
    height_m: float = 0.55
    distance_m: float = 3.0
    look_at_m: float = 0.85
    width: int = 640
    height: int = 480
    focal_px: float | None = None
    frame_height_m: float = 2.15

    @property
    def f(self) -> float:
        if self.focal_px is not None:
            return float(self.focal_px)
        return self.height * self.distance_m / self.frame_height_m

    @property
    def position(self) -> np.ndarray:
        y = np.radians(self.yaw_deg)
        return np.array([self.distance_m * np.sin(y), self.height_m, self.distance_m * np.cos(y)])

    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(right, down, forward) unit vectors of the camera in world coordinates."""
        c = self.position
        fwd = np.array([0.0, self.look_at_m, 0.0]) - c
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return right, down, fwd

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points (..., 3) to camera coordinates (x right, y down, z depth)."""
        r, d, f = self.basis()
        rel = pts - self.position
        return np.stack([rel @ r, rel @ d, rel @ f], axis=-1)

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel centres (..., 2) and depths (...,) of world points."""
        c = self.to_camera(pts)
        z = c[..., 2]
        uv = np.stack([self.width / 2 + self.f * c[..., 0] / z, self.height / 2 + self.f * c[..., 1] / z], axis=-1)
        return uv, z

    def to_dict(self) -> dict:
        d = asdict(self)
        d["focal_px"] = round(self.f, 2)
        return d
