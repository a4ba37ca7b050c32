"""Stills of flagged reps for the therapist report: the worst frame of each rep, face blurred.

The face is found with the pose model (landmarks 0-10); where it cannot be found, or no model is
at hand, the still is withheld rather than shown unblurred.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from formcheck.clinic.store import Store
from formcheck.clinic.therapist_stats import FRAME_COLUMN, FlaggedRep

log = logging.getLogger(__name__)

FACE_LANDMARKS = range(0, 11)  # nose, eyes, ears, mouth (BlazePose 0-10)
STILL_MAX_SIDE = 480


def worst_row(frames_csv: Path, f: FlaggedRep) -> tuple[int, int] | None:
    """(row in frames.csv = frame of annotated.mp4, source frame index) where the deciding measure
    is most valgus within the rep; FPPA only where it was usable, as in scoring."""
    if f.start_frame is None or f.end_frame is None:
        return None
    col = FRAME_COLUMN[f.basis].format(leg=f.leg)
    usable = f"fppa_usable_{f.leg}" if f.basis == "fppa" else None
    best: tuple[float, int, int] | None = None
    with frames_csv.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i < f.start_frame:
                continue
            if i > f.end_frame:
                break
            if not row.get(col) or (usable and row.get(usable) == "0"):
                continue
            v = float(row[col])
            if best is None or v > best[0]:
                best = (v, i, int(row["frame"]))
    return None if best is None else (best[1], best[2])


def read_frame(video: Path, index: int) -> np.ndarray | None:
    """Frame `index` of a video, decoded in order (seeking in mp4v files is not frame-exact)."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        for _ in range(index):
            if not cap.grab():
                return None
        ok, image = cap.read()
        return image if ok else None
    finally:
        cap.release()


def face_box(image: np.ndarray, model_path: Path) -> tuple[int, int, int, int] | None:
    """A box over the head from the pose model's face landmarks (0-10), padded to cover the hair
    and chin; None if no person is found (the caller then withholds the still)."""
    from formcheck.pose.landmarker import PoseEstimator

    with PoseEstimator(model_path, num_poses=1) as est:
        pose = est.detect(image, 0.0)
    if pose is None:
        return None
    pts = pose.image_xy[list(FACE_LANDMARKS)]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    size = max(x1 - x0, y1 - y0, 1.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = image.shape[:2]
    half = 1.1 * size  # ears to ears is about the face width: double it each way
    return (
        max(0, int(cx - half)), max(0, int(cy - 1.5 * half)),
        min(w, int(cx + half)), min(h, int(cy + 1.2 * half)),
    )  # fmt: skip


def blur_region(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Pixelate, then blur: unrecoverable at report resolution."""
    import cv2

    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return image
    roi = image[y0:y1, x0:x1]
    small = cv2.resize(roi, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
    roi[:] = cv2.GaussianBlur(cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST), (0, 0), 5)
    return image


def make_still(files: dict[str, Path], f: FlaggedRep, *, blur: bool, model_path: Path | None) -> tuple[bytes | None, str]:
    """JPEG of the worst frame of a flagged rep (annotated video preferred), face blurred."""
    import cv2

    if "frames" not in files or not files["frames"].is_file():
        return None, "frames.csv is missing"
    where = worst_row(files["frames"], f)
    if where is None:
        return None, "no measured frame in this rep"
    row, frame = where
    f.frame = frame
    source = read_frame(files["source"], frame) if files.get("source") and files["source"].is_file() else None
    annotated = read_frame(files["annotated"], row) if files.get("annotated") and files["annotated"].is_file() else None
    image = annotated if annotated is not None else source
    if image is None:
        return None, "the session's video is missing"
    if blur:
        if model_path is None:
            return None, "still withheld: no pose model to find the face for blurring"
        box = face_box(source if source is not None else image, model_path)
        if box is None:
            return None, "still withheld: the face could not be located for blurring"
        image = blur_region(image.copy(), box)
    h, w = image.shape[:2]
    scale = min(1.0, STILL_MAX_SIDE / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])
    return (buf.tobytes() if ok else None), ""


def attach_stills(store: Store, flagged: list[FlaggedRep], *, blur: bool = True, model_path: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> None:  # fmt: skip
    """Each rep's still, or the reason it is withheld, in place; `progress(done, total)` after each
    (each reads a video, and finds the face with the pose model to blur it)."""
    if blur and model_path is None:
        from formcheck.errors import ModelError
        from formcheck.pose.model_store import resolve_model

        try:
            model_path = resolve_model(None, allow_download=False).path
        except ModelError as exc:
            log.warning("no pose model, so flagged-rep stills are withheld (faces cannot be blurred): %s", exc)
    for done, f in enumerate(flagged, 1):
        try:
            f.still_jpeg, f.still_note = make_still(store.files(f.session_id), f, blur=blur, model_path=model_path)
        except (OSError, ValueError) as exc:
            f.still_jpeg, f.still_note = None, f"still unavailable: {exc}"
        if progress is not None:
            progress(done, len(flagged))
