"""Drawing a frame's state: `annotate(image, result) -> image`. No windows, no files.

Each knee's thigh and shank are coloured by the frame's verdict (`FrameResult.verdicts`, the
rule the cues and the report use): red while its cue is on (the verdict held past the limit),
amber from half the limit (and past it until the cue's debounce is over), green under that,
grey where the view does not allow scoring; the deciding value is written beside the knee; a cue shows as a red banner and an arrow pushing the knee outward.
"""

from __future__ import annotations

import cv2
import numpy as np

from formcheck.core.landmarks import LEG, SIDES, SKELETON, Side
from formcheck.core.metrics import VIEW_CODES, View
from formcheck.judging.verdict import Verdict
from formcheck.pipeline.stages import FrameResult

GREEN = (80, 200, 60)
AMBER = (0, 190, 255)
RED = (40, 40, 230)
GREY = (170, 170, 170)
WHITE = (255, 255, 255)
DARK = (30, 30, 30)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _pt(p: np.ndarray) -> tuple[int, int] | None:
    return (int(round(p[0])), int(round(p[1]))) if np.all(np.isfinite(p)) else None


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color: tuple[int, int, int], thick: int) -> None:
    cv2.putText(img, text, org, FONT, scale, DARK, thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, color, thick, cv2.LINE_AA)


def leg_colour(verdict: Verdict, cued: bool) -> tuple[int, int, int]:
    """Red is the cue: a knee is never drawn caving in without being told, nor told without being drawn."""
    if cued:
        return RED
    if verdict.value is None:
        return GREY
    return AMBER if verdict.value >= 0.5 * verdict.limit else GREEN


def annotate(image: np.ndarray, result: FrameResult, exercise: str = "", xy_scale: float = 1.0) -> np.ndarray:
    """Draw on a copy of `image`; `xy_scale` maps original-frame pixels to it (for a shrunk frame)."""
    img = image.copy()
    unit, scale, thick = text_metrics(img)
    xy = result.image_xy * xy_scale
    cued = {c.leg for c in result.cues}

    for a, b in SKELETON:
        pa, pb = _pt(xy[int(a)]), _pt(xy[int(b)])
        if pa and pb:
            cv2.line(img, pa, pb, WHITE, thick, cv2.LINE_AA)

    working = result.state.working_legs or SIDES
    for side in SIDES:
        leg = LEG[side]
        hip, knee, ankle = (_pt(xy[int(j)]) for j in (leg.hip, leg.knee, leg.ankle))
        verdict = result.verdicts[side]
        colour = leg_colour(verdict, side in cued) if side in working else GREY
        for p, q in ((hip, knee), (knee, ankle)):
            if p and q:
                cv2.line(img, p, q, colour, 2 * thick + 1, cv2.LINE_AA)
        for p in (hip, knee, ankle):
            if p:
                cv2.circle(img, p, 2 * thick + 1, colour, -1, cv2.LINE_AA)
        if knee and side in working and verdict.value is not None:
            label = verdict.measure.format(verdict.value)
            other_hip = xy[int(LEG[side.other].hip)]
            outward = -1 if (np.isfinite(other_hip[0]) and other_hip[0] > knee[0]) else 1
            (tw, _), _ = cv2.getTextSize(label, FONT, scale, thick)
            x = knee[0] + int(12 * unit) if outward > 0 else knee[0] - int(12 * unit) - tw
            _text(img, label, (x, knee[1] - int(12 * unit)), scale, colour, thick)
        if knee and side in cued:
            _arrow_outward(img, xy, side, knee, unit)

    # Status panel.
    st = result.state
    view = VIEW_CODES[int(result.metrics.view)]
    lines = [
        f"{exercise}  reps {st.reps_done}" + (f"  (rep {st.rep_in_progress})" if st.rep_in_progress else ""),
        f"{st.phase.value}   view {view.value}",
    ]
    warning = None
    if result.pose is None:
        warning = "No person found: step into the frame"
    elif view in (View.OBLIQUE, View.SIDE):
        warning = "Face the camera to check your knees"
    _panel(img, lines, warning, unit, scale, thick)
    if result.cues:
        banner(img, result.cues[0].message, unit)
    return img


def _panel(img: np.ndarray, lines: list[str], warning: str | None, unit: float, scale: float, thick: int) -> None:
    """Status lines on a translucent dark box in the top-left corner."""
    rows = [(line, WHITE) for line in lines] + ([(warning, AMBER)] if warning else [])
    draw_panel(img, rows, unit, scale, thick)


def draw_panel(
    img: np.ndarray, rows: list[tuple[str, tuple[int, int, int]]], unit: float, scale: float, thick: int, corner: str = "top-left"
) -> None:
    """Coloured text rows on a translucent dark box; `corner` is top-left, top-right, bottom-left or bottom-right."""
    if not rows:
        return
    h, w = img.shape[:2]
    line_h = int(24 * unit)
    width = min(w, max(cv2.getTextSize(text, FONT, scale, thick)[0][0] for text, _ in rows) + int(16 * unit))
    height = min(h, line_h * len(rows) + int(10 * unit))
    margin = int(6 * unit)
    x0 = margin if corner.endswith("left") else max(0, w - width - margin)
    y0 = margin if corner.startswith("top") else max(0, h - height - margin)
    roi = img[y0 : y0 + height, x0 : x0 + width]
    roi[:] = (roi * 0.35).astype(img.dtype)
    for k, (text, colour) in enumerate(rows):
        cv2.putText(img, text, (x0 + int(8 * unit), y0 + line_h * (k + 1) - int(4 * unit)), FONT, scale, colour, thick, cv2.LINE_AA)


def text_metrics(img: np.ndarray) -> tuple[float, float, int]:
    """(unit, font scale, line thickness) that `annotate` uses for a frame of this size."""
    h, w = img.shape[:2]
    unit = max(0.8, max(h, w) / 900.0)
    return unit, 0.55 * unit, max(1, int(round(1.6 * unit)))


def _arrow_outward(img: np.ndarray, xy: np.ndarray, side: Side, knee: tuple[int, int], unit: float) -> None:
    other_hip = xy[int(LEG[side.other].hip)]
    direction = -1 if (np.isfinite(other_hip[0]) and other_hip[0] > knee[0]) else 1
    length = int(60 * unit)
    y = knee[1] + int(8 * unit)
    start = (knee[0] + direction * int(10 * unit), y)
    end = (start[0] + direction * length, y)
    cv2.arrowedLine(img, start, end, RED, max(2, int(4 * unit)), cv2.LINE_AA, tipLength=0.35)


def banner(img: np.ndarray, message: str, unit: float, colour: tuple[int, int, int] = RED, top: bool = False) -> None:
    """A full-width coloured strip with centred text (a cue at the bottom; live setup prompts at the top)."""
    h, w = img.shape[:2]
    bh = int(48 * unit)
    y0 = 0 if top else h - bh
    strip = img[y0 : y0 + bh]
    strip[:] = (0.25 * strip + 0.75 * np.array(colour, dtype=np.float32)).astype(img.dtype)
    thick = max(1, int(round(2 * unit)))
    scale = 0.8 * unit
    tw, th = cv2.getTextSize(message, FONT, scale, thick)[0]
    if tw > w - 8:  # long prompts on small frames: shrink to fit
        scale *= (w - 8) / tw
        tw, th = cv2.getTextSize(message, FONT, scale, thick)[0]
    cv2.putText(img, message, ((w - tw) // 2, y0 + (bh + th) // 2), FONT, scale, WHITE, thick, cv2.LINE_AA)
