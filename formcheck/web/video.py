"""The annotated video in the browser. formcheck writes H.264 MP4 (sinks.VideoSink), which browsers
play as it is: the dashboard serves that file itself. Sessions analysed by older versions have
MPEG-4 Part 2 ('mp4v'), which browsers do not decode; for those the dashboard transcodes once to
WebM/VP8 with OpenCV's own writer and caches it.

The copy is written under a temporary name of its own in the cache folder and renamed into place,
so concurrent first requests (and other processes) never see or move each other's half-written
file; within one process, a lock per cache file lets one request transcode while the others wait.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import cv2

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"  # cache files being written; left behind only by a killed server
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(cache: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(cache, threading.Lock())


def _fresh(src: Path, cache: Path) -> bool:
    try:
        return cache.stat().st_mtime >= src.stat().st_mtime
    except FileNotFoundError:
        return False


BROWSER_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})


def browser_playable(src: Path) -> bool:
    """Whether browsers decode the video as it is (read from the file's own stream header)."""
    import av

    try:
        with av.open(str(src)) as container:
            streams = container.streams.video
            return bool(streams) and streams[0].codec_context.name in BROWSER_CODECS
    except (OSError, av.FFmpegError):
        return False


def webm_copy(src: Path, cache: Path) -> Path | None:
    """`cache` is (re)made when missing or older than `src`; None if nothing could be written."""
    if _fresh(src, cache):
        return cache
    with _lock_for(cache):
        if _fresh(src, cache):  # made by the request we waited for
            return cache
        return _transcode(src, cache)


def _transcode(src: Path, cache: Path) -> Path | None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        return None
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{cache.stem}-", suffix=".webm", dir=cache.parent)
    os.close(fd)
    tmp = Path(name)
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
        if writer is not None:
            writer.release()
            writer = None
        if frames == 0:
            return None
        os.replace(tmp, cache)
        return cache
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)  # gone already once renamed into place


def remove_stale_temporaries(cache_dir: Path) -> int:
    """Half-written copies a killed server left behind (call before serving)."""
    n = 0
    for p in cache_dir.glob(f"{TMP_PREFIX}*") if cache_dir.is_dir() else ():
        p.unlink(missing_ok=True)
        n += 1
    return n
