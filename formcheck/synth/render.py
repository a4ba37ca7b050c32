"""Draws the synthetic person through a pinhole camera with OpenCV, fast enough for long benchmarks.

The figure is what BlazePose's full model needs to find a person and put its landmarks on the
drawn joints: a skin-coloured head with hair and a face, a shirt, trousered legs bending at the
knee, shoes, and arms. Limbs are tapered capsules whose width follows depth and whose shading
(a darker rim, a lit core, a highlight toward the light) makes them read as round; parts are
painted far to near so the far leg is hidden by the near one. Pixel coordinates follow OpenCV's
convention (integer = pixel centre), the same convention the truth JSON uses.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from formcheck.core.landmarks import PoseLandmark as P
from formcheck.core.landmarks import SIDES, Side
from formcheck.synth.appearance import HAIR, SHIRTS, SHOES, SKIN_TONES, TROUSERS, Appearance, SensorNoise, background
from formcheck.synth.body import BodyShape, J, blazepose_points, body_frame, head_frame, side_joint
from formcheck.synth.camera import Camera
from formcheck.synth.motion import Box

SHIFT = 4  # cv2 sub-pixel bits
SCALE = 1 << SHIFT
LIGHT = np.array([-0.5, -0.85])  # light from the upper left of the image
LINE = cv2.LINE_AA


def _fix(pts: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(pts) * SCALE).astype(np.int32)


def _shade(colour, k: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * k, 0, 255)) for c in colour)


class Canvas:
    """Drawing primitives on one frame, in fractional pixels."""

    def __init__(self, img: np.ndarray) -> None:
        self.img = img

    def capsule(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float, colour, shaded: bool = True) -> None:
        """Tapered limb from a to b, radii in pixels, shaded as a cylinder lit from LIGHT."""
        d = b - a
        n = np.array([-d[1], d[0]])
        ln = np.hypot(*n)
        n = n / ln if ln > 1e-6 else np.array([1.0, 0.0])
        toward = 1.0 if n @ LIGHT >= 0 else -1.0
        layers = ((1.0, 0.0, 0.70), (0.80, 0.12, 0.95), (0.42, 0.38, 1.12)) if shaded else ((1.0, 0.0, 1.0),)
        for w, off, k in layers:
            c = _shade(colour, k)
            oa = a + n * toward * off * ra
            ob = b + n * toward * off * rb
            quad = np.array([oa + n * ra * w, ob + n * rb * w, ob - n * rb * w, oa - n * ra * w])
            cv2.fillConvexPoly(self.img, _fix(quad), c, LINE, SHIFT)
            for p, r in ((oa, ra * w), (ob, rb * w)):
                cv2.circle(self.img, tuple(_fix(p)), max(int(r * SCALE), 1), c, -1, LINE, SHIFT)

    def polygon(self, pts: np.ndarray, colour, shaded: bool = True) -> None:
        """Filled polygon with a lit, shrunken core to suggest a rounded surface."""
        cv2.fillPoly(self.img, [_fix(pts)], _shade(colour, 0.75 if shaded else 1.0), LINE, SHIFT)
        if shaded:
            c = pts.mean(axis=0)
            size = np.ptp(pts, axis=0).mean()
            for k, s, off in ((0.97, 0.82, 0.05), (1.10, 0.5, 0.12)):
                core = c + (pts - c) * s + LIGHT * off * size
                cv2.fillPoly(self.img, [_fix(core)], _shade(colour, k), LINE, SHIFT)

    def ellipse(self, c: np.ndarray, axes: tuple[float, float], angle_deg: float, colour, thickness: int = -1) -> None:
        cv2.ellipse(self.img, tuple(_fix(c)), (max(int(axes[0] * SCALE), 1), max(int(axes[1] * SCALE), 1)),
                    angle_deg, 0, 360, colour, thickness, LINE, SHIFT)

    def line(self, a: np.ndarray, b: np.ndarray, colour, thickness: int) -> None:
        cv2.line(self.img, tuple(_fix(a)), tuple(_fix(b)), colour, max(thickness, 1), LINE, SHIFT)


class FigureRenderer:
    """Renders skeleton frames (NUM_JOINTS, 3) of one clip to BGR images.

    The background, colours and noise bank are made once per clip; `render` then only draws
    the figure (about 3-6 ms a 640x480 frame on one core).
    """

    def __init__(self, camera: Camera, look: Appearance, body: BodyShape, boxes: list[Box] | None = None,
                 seed: int = 0) -> None:
        self.cam = camera
        self.look = look
        self.body = body
        self.boxes = boxes or []
        rng = np.random.default_rng(seed)
        self.bg = background(camera, look.background, rng)
        self.noise = SensorNoise(self.bg.shape, look.noise_sigma, rng)
        self.skin = SKIN_TONES[look.skin]
        self.hair = HAIR[look.hair]
        self.shirt = SHIRTS[look.shirt]
        self.trousers = TROUSERS[look.trousers]
        self.shoes = SHOES[look.shoes]
        self.sock = (225, 225, 225) if look.shoes != "white" else (60, 60, 60)
        self.cam_pos = camera.position

    # -- helpers ----------------------------------------------------------------------------
    def _px(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.cam.project(pts)

    def _r(self, metres: float, depth: float) -> float:
        return metres * self.cam.f / depth

    def render(self, joints: np.ndarray, joints_blur: np.ndarray | None = None) -> np.ndarray:
        """One frame; with `joints_blur` (the pose half a frame earlier) the two are averaged,
        a cheap open-shutter motion blur."""
        img = self.draw(joints)
        if joints_blur is not None:
            img = cv2.addWeighted(img, 0.5, self.draw(joints_blur), 0.5, 0.0)
        return self.noise(img)

    def draw(self, joints: np.ndarray) -> np.ndarray:
        img = self.bg.copy()
        cv = Canvas(img)
        parts: list[tuple[float, Callable[[], None]]] = []
        uv, z = self._px(joints)
        g = self.body.girth
        for box in self.boxes:
            parts.append(self._box_part(cv, box))
        for side in SIDES:
            parts.extend(self._leg_parts(cv, joints, uv, z, side, g))
            parts.extend(self._arm_parts(cv, joints, uv, z, side, g))
        parts.append(self._trunk_part(cv, joints, uv, z, g))
        parts.append(self._head_part(cv, joints, uv, z))
        for _, fn in sorted(parts, key=lambda p: -p[0]):
            fn()
        return img

    # -- parts --------------------------------------------------------------------------------
    def _leg_parts(self, cv: Canvas, jt, uv, z, side: Side, g: float) -> list:
        hip, knee, ankle = (side_joint(n, side) for n in ("HIP", "KNEE", "ANKLE"))
        heel, toe = side_joint("HEEL", side), side_joint("TOE", side)
        r = self._r
        up_dir = np.array([0.0, 1.0, 0.0])
        calf = jt[knee] + 0.28 * (jt[ankle] - jt[knee])
        hem = jt[ankle] + 0.032 * up_dir
        mid_foot = (jt[heel] + jt[toe]) / 2 + 0.008 * up_dir
        collar = jt[ankle] - 0.040 * up_dir
        (calf_uv, hem_uv, mf_uv, col_uv), (calf_z, hem_z, mf_z, col_z) = self._px(np.stack([calf, hem, mid_foot, collar]))

        def thigh() -> None:
            cv.capsule(uv[hip], uv[knee], r(0.080 * g, z[hip]), r(0.050 * g, z[knee]), self.trousers)

        def shank() -> None:
            # A calf bulge below a narrower knee: the taper is how the model finds the knee.
            cv.capsule(uv[knee], calf_uv, r(0.050 * g, z[knee]), r(0.056 * g, calf_z), self.trousers)
            cv.capsule(calf_uv, hem_uv, r(0.056 * g, calf_z), r(0.040 * g, hem_z), self.trousers)
            cv.capsule(hem_uv, uv[ankle], r(0.030, hem_z), r(0.029, z[ankle]), self.sock, shaded=False)

        def shoe() -> None:
            cv.capsule(uv[heel], uv[toe], r(0.034, z[heel]), r(0.031, z[toe]), self.shoes)
            cv.capsule(col_uv, mf_uv, r(0.033, col_z), r(0.033, mf_z), self.shoes)

        return [
            ((z[hip] + z[knee]) / 2 - 0.01, thigh),
            ((z[knee] + z[ankle]) / 2 - 0.01, shank),
            ((z[heel] + z[toe]) / 2 - 0.012, shoe),
        ]

    def _arm_parts(self, cv: Canvas, jt, uv, z, side: Side, g: float) -> list:
        sh, el, wr = (side_joint(n, side) for n in ("SHOULDER", "ELBOW", "WRIST"))
        r = self._r
        sleeve_end = jt[sh] + 0.5 * (jt[el] - jt[sh])
        hand_end = jt[wr] + 0.09 * (jt[wr] - jt[el]) / max(np.linalg.norm(jt[wr] - jt[el]), 1e-6)
        (se_uv, he_uv), (se_z, he_z) = self._px(np.stack([sleeve_end, hand_end]))

        def upper() -> None:
            cv.capsule(uv[sh], uv[el], r(0.045 * g, z[sh]), r(0.036 * g, z[el]), self.skin)
            cv.capsule(uv[sh], se_uv, r(0.056 * g, z[sh]), r(0.048 * g, se_z), self.shirt)

        def fore() -> None:
            cv.capsule(uv[el], uv[wr], r(0.035 * g, z[el]), r(0.026 * g, z[wr]), self.skin)
            cv.capsule(uv[wr], he_uv, r(0.030, z[wr]), r(0.026, he_z), _shade(self.skin, 0.95))

        return [((z[sh] + z[el]) / 2 - 0.02, upper), ((z[el] + z[wr]) / 2 - 0.03, fore)]

    def _trunk_part(self, cv: Canvas, jt, uv, z, g: float):
        left, up, fwd = body_frame(jt)
        pel = jt[J.PELVIS]
        shl, shr = jt[J.SHOULDER_L], jt[J.SHOULDER_R]
        mid_sh = (shl + shr) / 2
        trunk = mid_sh - pel
        sw = np.linalg.norm(shl - shr) / 2
        hw = np.linalg.norm(jt[J.HIP_L] - jt[J.HIP_R]) / 2
        w_waist = (hw + 0.045) * g
        w_hip = (hw + 0.082) * g
        shirt3 = np.array([
            shl + left * 0.035 + up * 0.02,
            mid_sh + up * 0.045 + left * sw * 0.5,
            mid_sh + up * 0.045 - left * sw * 0.5,
            shr - left * 0.035 + up * 0.02,
            shr - left * 0.045 - up * 0.12,
            pel + trunk * 0.45 - left * w_waist,
            pel + up * 0.03 - left * (w_hip - 0.01),
            pel + up * 0.03 + left * (w_hip - 0.01),
            pel + trunk * 0.45 + left * w_waist,
            shl + left * 0.045 - up * 0.12,
        ])
        pants3 = np.array([
            pel + up * 0.10 + left * (w_waist + 0.01),
            pel + up * 0.10 - left * (w_waist + 0.01),
            pel - left * w_hip - up * 0.02,
            pel - left * (hw - 0.01) - up * 0.10 + fwd * 0.03,
            pel - up * 0.13 + fwd * 0.04,
            pel + left * (hw - 0.01) - up * 0.10 + fwd * 0.03,
            pel + left * w_hip - up * 0.02,
        ])
        s_uv, p_uv = self._px(shirt3)[0], self._px(pants3)[0]
        depth = float(np.mean(z[[J.PELVIS, J.SHOULDER_L, J.SHOULDER_R]]))

        def draw() -> None:
            cv.polygon(p_uv, self.trousers)
            cv.polygon(s_uv, self.shirt)
            # Neck, drawn with the trunk so the collar sits over it.
            neck_top = jt[J.NECK] + (jt[J.HEAD] - jt[J.NECK]) * 0.6
            (a, b), (za, zb) = self._px(np.stack([jt[J.NECK] - up * 0.03, neck_top]))
            cv.capsule(a, b, self._r(0.050, za), self._r(0.046, zb), _shade(self.skin, 0.9))
            cv.ellipse(a, (self._r(0.06, za), self._r(0.025, za)), 0.0, _shade(self.shirt, 0.7))

        return depth, draw

    def _head_part(self, cv: Canvas, jt, uv, z):
        pts = blazepose_points(jt)
        left, up, fwd = head_frame(jt)
        head = jt[J.HEAD]
        facing = float(np.dot(fwd, self.cam_pos - head)) > 0
        f_uv, f_z = self._px(pts)
        c_uv, c_z = uv[J.HEAD], z[J.HEAD]
        top_uv = self._px(head + up * 0.1)[0]
        angle = np.degrees(np.arctan2(top_uv[0] - c_uv[0], -(top_uv[1] - c_uv[1])))
        r = self._r

        def draw() -> None:
            hair_c = self._px(head + up * 0.012 - fwd * 0.01)[0]
            cv.ellipse(hair_c, (r(0.084, c_z), r(0.112, c_z)), angle, self.hair)
            for ear in (P.LEFT_EAR, P.RIGHT_EAR):
                cv.ellipse(f_uv[ear], (r(0.014, c_z), r(0.026, c_z)), angle, _shade(self.skin, 0.85))
            if not facing:
                return
            face_c = self._px(head - up * 0.012 + fwd * 0.02)[0]
            cv.ellipse(face_c, (r(0.071, c_z), r(0.096, c_z)), angle, self.skin)
            cv.ellipse(self._px(head - up * 0.03 + fwd * 0.04 + left * 0.02)[0], (r(0.03, c_z), r(0.04, c_z)), angle,
                       _shade(self.skin, 1.08))
            for eye, sgn in ((P.LEFT_EYE, 1.0), (P.RIGHT_EYE, -1.0)):
                e = f_uv[eye]
                cv.ellipse(e, (r(0.012, c_z), r(0.0065, c_z)), angle, (235, 235, 235))
                cv.ellipse(e, (r(0.0055, c_z), r(0.0055, c_z)), 0.0, (40, 30, 25))
                brow_a = self._px(pts[eye] + up * 0.022 + left * sgn * 0.012)[0]
                brow_b = self._px(pts[eye] + up * 0.026 - left * sgn * 0.012)[0]
                cv.line(brow_a, brow_b, _shade(self.hair, 0.7), max(int(r(0.006, c_z)), 1))
            nose_top = self._px(head + fwd * 0.09 + up * 0.005)[0]
            cv.line(nose_top, f_uv[P.NOSE], _shade(self.skin, 0.7), max(int(r(0.007, c_z)), 1))
            cv.line(f_uv[P.MOUTH_LEFT], f_uv[P.MOUTH_RIGHT], (60, 60, 150), max(int(r(0.008, c_z)), 1))

        return float(c_z) - 0.5, draw  # always over the neck and collar

    def _box_part(self, cv: Canvas, box: Box):
        """A step box; painted before anything nearer than its back face."""
        x0, x1 = box.x - box.width / 2, box.x + box.width / 2
        z0, z1 = box.z - box.depth / 2, box.z + box.depth / 2
        h = box.height
        corners = np.array([[x, y, zz] for y in (0.0, h) for zz in (z0, z1) for x in (x0, x1)])
        faces = {  # corner indices and outward normals
            "top": ([4, 5, 7, 6], (0, 1, 0), 1.15),
            "front": ([2, 3, 7, 6], (0, 0, 1), 0.95),
            "back": ([0, 1, 5, 4], (0, 0, -1), 0.8),
            "left": ([1, 3, 7, 5], (1, 0, 0), 0.8),
            "right": ([0, 2, 6, 4], (-1, 0, 0), 0.75),
        }
        uv, z = self._px(corners)
        colour = (70, 120, 165)

        def draw() -> None:
            for idx, normal, k in faces.values():
                centre = corners[idx].mean(axis=0)
                if np.dot(normal, self.cam_pos - centre) > 0:
                    cv.polygon(uv[idx], _shade(colour, k), shaded=False)
                    cv2.polylines(cv.img, [_fix(uv[idx])], True, _shade(colour, 0.6), 1, LINE, SHIFT)

        return float(z.max()), draw
