"""Browser-playable copy of annotated.mp4: OpenCV writes MPEG-4 part 2 ('mp4v'), which browsers do
not decode, so the dashboard transcodes once to WebM/VP8 with OpenCV's own writer and caches it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2

log = logging.getLogger(__name__)


def webm_copy(src: Path, cache: Path) -> Path | None:
    """`cache` is (re)made when missing or older than `src`; None if nothing could be written."""
    if cache.is_file() and cache.stat().st_mtime >= src.stat().st_mtime:
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        return None
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    tmp = cache.with_name(f".{cache.stem}.tmp.webm")
    writer = None
    frames = 0
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if writer is None:
                h, w = image.shape[:2]
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"VP80"), fps, (w, h))
                if not writer.isOpened():
                    log.warning("this OpenCV cannot write WebM/VP8; no browser video for %s", src)
                    return None
            writer.write(image)
            frames += 1
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if frames == 0:
        tmp.unlink(missing_ok=True)
        return None
    os.replace(tmp, cache)
    return cache
