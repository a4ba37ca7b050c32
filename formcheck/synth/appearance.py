"""How the synthetic person and room look: skin, hair, clothes, backgrounds. Colours are BGR.

Variety is the point: a benchmark drawn in one colour scheme would test the detector on one
picture. Every choice is drawn from small palettes with a seeded generator, so a clip is
reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from formcheck.synth.camera import Camera

Colour = tuple[int, int, int]

SKIN_TONES: dict[str, Colour] = {
    "light": (160, 185, 232),
    "medium": (110, 150, 205),
    "tan": (85, 125, 180),
    "dark": (55, 80, 120),
}
HAIR: dict[str, Colour] = {"black": (25, 25, 30), "brown": (30, 55, 90), "blond": (90, 170, 210), "grey": (150, 150, 150)}
SHIRTS: dict[str, Colour] = {
    "red": (45, 45, 190),
    "blue": (170, 90, 35),
    "green": (70, 140, 60),
    "white": (225, 225, 225),
    "yellow": (40, 190, 220),
    "purple": (130, 60, 110),
}
TROUSERS: dict[str, Colour] = {"navy": (90, 45, 30), "black": (40, 40, 40), "grey": (110, 110, 110), "khaki": (110, 160, 180)}
SHOES: dict[str, Colour] = {"white": (235, 235, 235), "black": (30, 30, 30), "red": (40, 40, 170)}
BACKGROUNDS: tuple[str, ...] = ("plain", "room", "textured")


@dataclass(frozen=True)
class Appearance:
    """Names from the palettes above (the truth JSON records the names, not the colours)."""

    skin: str = "medium"
    hair: str = "brown"
    shirt: str = "blue"
    trousers: str = "black"
    shoes: str = "white"
    background: str = "room"
    noise_sigma: float = 2.0  # sensor noise, grey levels
    motion_blur: bool = False

    @classmethod
    def random(cls, rng: np.random.Generator, **fixed) -> "Appearance":
        pick = lambda d: str(rng.choice(list(d)))  # noqa: E731 - one-line chooser
        kw = dict(skin=pick(SKIN_TONES), hair=pick(HAIR), shirt=pick(SHIRTS), trousers=pick(TROUSERS),
                  shoes=pick(SHOES), background=str(rng.choice(BACKGROUNDS)))
        kw.update(fixed)
        return cls(**kw)

    def to_dict(self) -> dict:
        return asdict(self)


def _low_freq_texture(h: int, w: int, rng: np.random.Generator, cells: int, amp: float) -> np.ndarray:
    """Smooth random blotches (float, zero mean): upsampled coarse noise, like a painted wall."""
    small = rng.normal(0.0, 1.0, (max(2, h * cells // w), cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * amp


def background(camera: Camera, kind: str, rng: np.random.Generator, wall_m: float = 2.0) -> np.ndarray:
    """The empty scene, drawn once per clip: plain, a floor/wall room, or a textured room.

    The floor/wall corner is the projection of a wall `wall_m` behind the person, so it sits
    where the camera geometry puts it (and tilts with camera yaw).
    """
    h, w = camera.height, camera.width
    if kind == "plain":
        tone = rng.uniform(150, 215)
        tint = rng.uniform(-12, 12, 3)
        img = np.empty((h, w, 3), np.float32)
        img[:] = tone + tint
        img += np.linspace(-8, 8, h, dtype=np.float32)[:, None, None]  # uneven light
        return np.clip(img, 0, 255).astype(np.uint8)
    wall = rng.uniform(150, 225) + rng.uniform(-15, 15, 3)
    floor = rng.uniform(70, 140) + rng.uniform(-20, 10, 3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = wall
    # Floor polygon: below the wall-floor line, found by projecting two floor points on it.
    back = -wall_m
    pts = np.array([[-8.0, 0.0, back], [8.0, 0.0, back]])
    uv, _ = camera.project(pts)
    poly = np.array([uv[0], uv[1], [w * 4, h * 4], [-w * 4, h * 4]], np.float32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    img[mask > 0] = floor
    rows = np.arange(h, dtype=np.float32)[:, None, None]
    img += np.where(mask[..., None] > 0, (rows - h / 2) * 0.08, -(rows - h / 2) * 0.03)
    if kind == "textured":
        img += _low_freq_texture(h, w, rng, 24, 6.0)[..., None]
        img += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32)
    else:
        img += _low_freq_texture(h, w, rng, 8, 3.0)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


class SensorNoise:
    """Per-frame Gaussian noise, cheap: a few pre-drawn fields, rolled by a random offset.

    Split into a positive and a negative uint8 part so adding it is two saturating cv2 calls
    (well under a millisecond) instead of a float round trip.
    """

    def __init__(self, shape: tuple[int, int, int], sigma: float, rng: np.random.Generator, bank: int = 4) -> None:
        self.rng = rng
        self.sigma = sigma
        self.pos, self.neg = [], []
        for _ in range(bank if sigma > 0 else 0):
            n = np.round(rng.normal(0, sigma, shape))
            self.pos.append(np.clip(n, 0, 255).astype(np.uint8))
            self.neg.append(np.clip(-n, 0, 255).astype(np.uint8))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if not self.pos:
            return frame
        i = int(self.rng.integers(len(self.pos)))
        shift = int(self.rng.integers(frame.shape[0]))
        pos = np.roll(self.pos[i], shift, axis=0)
        neg = np.roll(self.neg[i], shift, axis=0)
        return cv2.subtract(cv2.add(frame, pos), neg)
