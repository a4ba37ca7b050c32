"""Latency bookkeeping for the live loop: how old is what the person sees, and how many frames were skipped.

Capture time is the frame's own timestamp placed on the monotonic clock. A camera stamps frames
on that clock as they are read; a file replayed as a camera releases each frame at its media
time. Either way `wall = anchor + t_s`, where `anchor` is the smallest `(received - t_s)` seen so
far: the schedule of the fastest delivery. Time a frame spent waiting for the display loop is
therefore counted as latency, as it should be.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

RECENT = 90  # samples behind the rolling figures in the debug overlay (about 3 s at 30 fps)


@dataclass(frozen=True)
class Percentiles:
    count: int
    median_ms: float | None
    p95_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, seconds: list[float] | deque[float]) -> "Percentiles":
        if not seconds:
            return cls(0, None, None, None)
        ms = np.asarray(seconds, dtype=float) * 1000.0
        return cls(len(ms), round(float(np.median(ms)), 1), round(float(np.percentile(ms, 95)), 1), round(float(ms.max()), 1))

    def short(self) -> str:
        return "-" if self.median_ms is None else f"{self.median_ms:.0f} ms (p95 {self.p95_ms:.0f})"


class LatencyStats:
    """Thread-safe counters: the display loop and the pose worker both report here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.anchor = math.inf
        self.captured = 0  # frames the display loop received
        self.analysed = 0  # frames the pose worker processed
        self.skipped = 0  # frames displayed but never analysed (pose was busy with an older one)
        self._display: list[float] = []
        self._result: list[float] = []
        self._cue: list[float] = []
        self._recent_display: deque[float] = deque(maxlen=RECENT)
        self._recent_result: deque[float] = deque(maxlen=RECENT)
        self._recent_cue: deque[float] = deque(maxlen=RECENT)
        self._display_times: deque[float] = deque(maxlen=RECENT)
        self._result_times: deque[float] = deque(maxlen=RECENT)

    def received(self, t_s: float, now: float) -> float:
        """A frame reached the display loop at `now`; returns its capture time on the same clock."""
        with self._lock:
            self.captured += 1
            self.anchor = min(self.anchor, now - t_s)
            return self.anchor + t_s

    def wall_of(self, t_s: float) -> float:
        """Capture time of the frame with media time `t_s`."""
        return self.anchor + t_s

    def shown(self, t_s: float, now: float) -> None:
        """The frame with media time `t_s` is on screen (or, headless, rendered) at `now`."""
        with self._lock:
            self._add(self._display, self._recent_display, now - self.wall_of(t_s))
            self._display_times.append(now)

    def result(self, t_s: float, now: float) -> None:
        """Pose and all later stages finished the frame with media time `t_s` at `now`."""
        with self._lock:
            self.analysed += 1
            self._add(self._result, self._recent_result, now - self.wall_of(t_s))
            self._result_times.append(now)

    def cue_shown(self, raised_t_s: float, now: float) -> float:
        """A cue raised on the frame at media time `raised_t_s` first appeared at `now`; returns the latency."""
        with self._lock:
            latency = now - self.wall_of(raised_t_s)
            self._add(self._cue, self._recent_cue, latency)
            return latency

    def skip(self, n: int = 1) -> None:
        with self._lock:
            self.skipped += n

    @staticmethod
    def _add(values: list[float], recent: deque[float], v: float) -> None:
        values.append(v)
        recent.append(v)

    @staticmethod
    def _rate(times: deque[float]) -> float | None:
        if len(times) < 2 or times[-1] <= times[0]:
            return None
        return (len(times) - 1) / (times[-1] - times[0])

    def overlay_lines(self, dropped_upstream: int) -> list[str]:
        """Rolling figures for the debug overlay."""
        with self._lock:
            d_fps, p_fps = self._rate(self._display_times), self._rate(self._result_times)
            lines = [
                f"capture->display {Percentiles.of(self._recent_display).short()}",
                f"capture->pose done {Percentiles.of(self._recent_result).short()}",
                f"capture->cue {Percentiles.of(self._recent_cue).short()}",
                f"display {d_fps or 0:.1f} fps  pose {p_fps or 0:.1f} fps",
                f"dropped {dropped_upstream} before display, {self.skipped} not analysed of {self.captured + dropped_upstream}",
            ]
        return lines

    def summary(self, dropped_upstream: int) -> dict:
        """Whole-session figures (live.json)."""
        with self._lock:
            total = self.captured + dropped_upstream
            return {
                "frames_in": total,
                "frames_displayed": self.captured,
                "frames_analysed": self.analysed,
                "dropped_before_display": dropped_upstream,
                "not_analysed": self.skipped,
                "analysed_fraction": round(self.analysed / total, 4) if total else None,
                "capture_to_display_ms": vars(Percentiles.of(self._display)),
                "capture_to_pose_done_ms": vars(Percentiles.of(self._result)),
                "capture_to_cue_ms": vars(Percentiles.of(self._cue)),
            }
