"""`formcheck live`: coaching from a camera (or a file standing in for one) with feedback during the rep.

Two loops, LIVE_STREAM style, so the picture never waits for the model:

- the display loop (the calling thread: OpenCV windows belong to the main thread) takes every
  frame the source hands over at camera rate, offers it to the pose worker, draws the newest
  pose result over it, shows it, and handles keys, sound, `--record` and the annotated video;
- the pose worker runs `analyze.run_session` (the same Pipeline, tracker, cues and report pass
  as `formcheck analyze`) over a one-slot `PoseFeed`: it always takes the newest frame, and a
  frame replaced before the worker took it is counted as not analysed, never queued.

When the source ends, `q`/Esc is pressed, the window is closed, Ctrl-C comes or the camera is
lost, the feed ends, the worker writes the same four files as `analyze` (partial where the stream
was cut), plus `raw.mp4` with `--record` and `live.json` (latency, dropped frames, every cue).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from formcheck.config import Config
from formcheck.core.landmarks import Side
from formcheck.errors import InputError, SourceLostError
from formcheck.judging.cues import BandCue, Cue
from formcheck.judging.feedback import Action, Coach, CoachStatus, Controls
from formcheck.judging.setup_check import Check, SetupCheck, SetupState, SetupStatus, brightness
from formcheck.media.newest_slot import NewestSlot
from formcheck.media.sinks import VideoSink
from formcheck.media.sound import Speaker
from formcheck.media.sources import Frame, FrameSource
from formcheck.pipeline.stages import FrameResult
from formcheck.pose.model_store import ModelInfo
from formcheck.reporting.annotate import AMBER, GREEN, GREY, RED, WHITE, annotate, banner, draw_panel, text_metrics
from formcheck.runs.analyze import Outcome, run_session
from formcheck.runs.latency import LatencyStats
from formcheck.runs.run_folder import RunFolder
from formcheck.runs.stop_signals import deferred
from formcheck.trackers import tracker_class

log = logging.getLogger(__name__)

WINDOW_NAME = "formcheck live"
DISPLAY_SIDE = 960  # the window's (and live annotated.mp4's) longer side, pixels
READY_TIMEOUT_S = 300.0  # loading the model on a busy machine
KeyFn = Callable[[Frame], int]  # headless key presses for tests: frame -> cv2.waitKey-style code


@dataclass(frozen=True)
class LiveOptions:
    exercise: str
    out_dir: Path
    model: ModelInfo
    config: Config
    side: Side | None = None
    window: bool = True
    sound: bool = False
    reps: int = 8
    sets: int = 3
    record: bool = False
    debug: bool = False
    display_side: int = DISPLAY_SIDE


@dataclass(frozen=True)
class Snapshot:
    """What the pose worker last finished: the display draws it over newer camera frames."""

    result: FrameResult
    setup: SetupStatus
    coach: CoachStatus


@dataclass(frozen=True)
class CueRecord:
    leg: str | None  # None: a cue about both feet (band-walk's "keep the band tight")
    basis: str
    value: float
    crossed_s: float  # media time the causal measure first passed the threshold
    raised_s: float  # media time of the frame the cue fired on
    shown_after_capture_ms: float | None  # wall time from that frame's capture to the cue on screen
    message: str = ""


@dataclass
class LiveOutcome:
    outcome: Outcome
    stopped_by: str  # "end of source", "user", "window closed", "interrupt", "source lost"
    latency: dict[str, Any]
    cues: list[CueRecord]
    setup: SetupStatus
    coach: CoachStatus
    sound_warning: str | None
    spoken: list[str] = field(default_factory=list)

    @property
    def files(self) -> dict[str, Path]:
        return self.outcome.files


class PoseFeed(FrameSource):
    """A one-slot mailbox between the display loop and the pose worker (newest frame wins).

    `dropped` (read by run_session for its warning) counts every frame the model never saw:
    frames the source dropped before the display loop took them, and frames replaced here.
    """

    def __init__(self, upstream: FrameSource, stats: LatencyStats) -> None:
        self.info = upstream.info
        self._upstream = upstream
        self._stats = stats
        self._slot: NewestSlot[Frame] = NewestSlot()
        self.ready = threading.Event()  # set once the worker has loaded the model and waits for frames

    @property
    def dropped(self) -> int:  # type: ignore[override]
        return getattr(self._upstream, "dropped", 0) + self._stats.skipped

    def truncation(self) -> str | None:
        return self._upstream.truncation()

    def offer(self, frame: Frame) -> None:
        if self._slot.put(frame):
            self._stats.skip()

    def end(self, error: BaseException | None = None) -> None:
        """No more frames; `error` (Ctrl-C, camera lost) is raised in the worker after the pending frame."""
        self._slot.end(error)

    def __iter__(self) -> Iterator[Frame]:
        self.ready.set()
        while (frame := self._slot.take()) is not None:
            yield frame

    def close(self) -> None:
        self.end()


class PoseWorker(threading.Thread):
    """Runs the analyse session over the feed; publishes a Snapshot per analysed frame."""

    def __init__(self, feed: PoseFeed, opts: LiveOptions, stats: LatencyStats, clock: Callable[[], float], folder: RunFolder) -> None:
        super().__init__(name="formcheck-pose", daemon=True)
        self.feed = feed
        self.opts = opts
        self.folder = folder
        self.stats = stats
        self.clock = clock
        self.coach = Coach(opts.reps, opts.sets)
        tracker = tracker_class(opts.exercise)
        self.setup = SetupCheck(judges_valgus=tracker.judges_valgus, side_view=tracker.side_view)
        self.lock = threading.Lock()  # coach is also touched by the display loop (r key)
        self.latest: Snapshot | None = None
        self.cue_log: list[Cue | BandCue] = []
        self.new_cues: deque[Cue | BandCue] = deque()
        self.announcements: deque[str] = deque()
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.outcome = run_session(
                self.feed,
                exercise=self.opts.exercise,
                out_dir=self.folder.out_dir,
                folder=self.folder,
                model=self.opts.model,
                config=self.opts.config,
                on_frame=self._on_result,
                write_video=False,
                side=self.opts.side,
                warm_start=True,
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised on the display thread
            self.error = exc
        finally:
            self.feed.ready.set()

    def _on_result(self, result: FrameResult) -> None:
        t = result.frame.t_s
        self.stats.result(t, self.clock())
        raised = [c for c in result.cues if c.raised_s == t]
        state = result.state
        with self.lock:
            say = self.coach.update(t, result.events, result.cues, state)
            if self.setup.status.active:
                light = brightness(result.frame.image)
                started = state.rep_in_progress is not None or state.reps_done > 0
                if self.setup.update(t, result.pose, result.metrics, light, started).state is SetupState.DONE:
                    say.insert(0, "Ready. Start your first rep.")
            coach = self.coach.status(t)
        self.cue_log += raised
        self.new_cues.extend(raised)
        self.announcements.extend(say)
        self.latest = Snapshot(result, self.setup.status, coach)

    def reset_set(self) -> None:
        with self.lock:
            self.coach.reset_set()
            if self.latest is not None:
                self.latest = dataclasses.replace(self.latest, coach=self.coach.status(self.latest.result.frame.t_s))


def display_scale(width: int, height: int, side: int) -> float:
    return side / max(width, height)


def render(image: np.ndarray, snap: Snapshot | None, opts: LiveOptions, *, scale: float, paused: bool, debug_lines: list[str]) -> np.ndarray:
    """The newest camera frame with the newest pose result over it, plus the live panels."""
    if scale != 1.0:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interp)
    if snap is None:
        out = image.copy()
        unit = text_metrics(out)[0]
        banner(out, "Starting: loading the pose model", unit, AMBER, top=True)
        return out
    result = snap.result if scale == 1.0 else dataclasses.replace(snap.result, image_xy=snap.result.image_xy * scale)
    out = annotate(image, result, opts.exercise)
    unit, fs, th = text_metrics(out)
    rows: list[tuple[str, tuple[int, int, int]]] = []
    if snap.setup.active:
        rows += [(f"{'ok' if ok else '..'}  {check.value}", GREEN if ok else AMBER) for check, ok in snap.setup.passed.items()]
    else:
        rows.append((snap.coach.progress_line(), WHITE))
        if snap.coach.verdict is not None:
            rows.append((snap.coach.verdict.text, GREEN if snap.coach.verdict.good else RED))
        if snap.coach.hold_s is not None:
            leg = f" on the {snap.coach.hold_leg.value} leg" if snap.coach.hold_leg else ""
            rows.append((f"Hold {snap.coach.hold_s:4.1f} s{leg}", WHITE))
        elif snap.coach.last_hold_s is not None:
            rows.append((f"Last hold {snap.coach.last_hold_s:.1f} s", GREY))
    rows += [(line, GREY) for line in debug_lines]
    draw_panel(out, rows, unit, fs, th, corner="top-right")
    if paused:
        banner(out, "Paused: press space to go on", unit, (90, 90, 90), top=True)
    elif snap.setup.active and snap.setup.prompt:
        banner(out, snap.setup.prompt, unit, (0, 140, 230), top=True)
    return out


class Window:
    """The OpenCV window at the edge; `show` returns the key pressed (-1 for none)."""

    def __init__(self, name: str = WINDOW_NAME) -> None:
        self.name = name
        self.closed = False
        self._seen = False
        cv2.namedWindow(name, cv2.WINDOW_AUTOSIZE)

    def show(self, image: np.ndarray) -> int:
        cv2.imshow(self.name, image)
        key = cv2.waitKey(1)
        try:
            visible = cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE)
        except cv2.error:
            visible = -1
        if visible >= 1:
            self._seen = True
        elif self._seen:
            self.closed = True  # closed with the mouse
        return key

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.name)
            cv2.waitKey(1)
        except cv2.error:
            pass


def check_display() -> None:
    """Fail early and clearly where no window can open (OpenCV's Qt backend aborts the process)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise InputError("no display to open the live window on (DISPLAY is not set): use --no-window to run without one")


def _prompt_stem(prompt: str) -> str:
    """A prompt without its countdown, so a ticking clock is not re-spoken every second."""
    return re.sub(r"\s*\(\d+ s\)$", "", prompt)


def run_live(
    source: FrameSource,
    opts: LiveOptions,
    *,
    keys: KeyFn | None = None,
    clock: Callable[[], float] = time.monotonic,
    speaker: Speaker | None = None,
) -> LiveOutcome:
    """Coach live from `source` (a camera, or a file opened with realtime=True) until it ends or the user stops."""
    folder = RunFolder(opts.out_dir)
    stats = LatencyStats()
    feed = PoseFeed(source, stats)
    worker = PoseWorker(feed, opts, stats, clock, folder)
    speaker = speaker if speaker is not None else Speaker(opts.sound)
    controls = Controls()
    info = source.info
    scale = display_scale(info.width, info.height, opts.display_side)
    if not opts.window:
        scale = min(scale, 1.0)  # headless: only the annotated video, no need to enlarge small frames
    size = (round(info.width * scale), round(info.height * scale))
    files = {"annotated": folder.path("annotated.mp4")}
    if opts.record:
        files["raw"] = folder.path("raw.mp4")
    window: Window | None = None
    sink: VideoSink | None = None
    raw: VideoSink | None = None
    stopped_by = "end of source"
    spoken_prompt: str | None = None
    shown: dict[tuple[Side, float], float] = {}
    worker.start()
    try:
        while not feed.ready.wait(0.1):
            if not worker.is_alive():
                break
        if worker.error is not None:
            raise worker.error
        sink = VideoSink(files["annotated"], info.fps, size)
        raw = VideoSink(files["raw"], info.fps, (info.width, info.height)) if opts.record else None
        window = Window() if opts.window else None
        for frame in source:
            stats.received(frame.t_s, clock())
            if raw is not None:
                raw.write(frame.image)
            if not controls.paused:
                feed.offer(frame)
            snap = worker.latest
            debug = stats.overlay_lines(getattr(source, "dropped", 0)) if opts.debug else []
            image = render(frame.image, snap, opts, scale=scale, paused=controls.paused, debug_lines=debug)
            sink.write(image)
            key = window.show(image) if window is not None else (keys(frame) if keys is not None else -1)
            now = clock()
            stats.shown(frame.t_s, now)
            newest = snap.result.frame.t_s if snap is not None else -1.0
            while worker.new_cues and worker.new_cues[0].raised_s <= newest:
                cue = worker.new_cues.popleft()
                shown[(cue.leg, cue.raised_s)] = round(1000.0 * stats.cue_shown(cue.raised_s, now), 1)
                speaker.say(cue.message, urgent=True)
            while worker.announcements:
                speaker.say(worker.announcements.popleft())
            if snap is not None and snap.setup.active and snap.setup.prompt:
                stem = _prompt_stem(snap.setup.prompt)
                if stem != spoken_prompt and speaker.say(stem):
                    spoken_prompt = stem
            action = controls.key(key)
            if action is Action.RESET_SET:
                worker.reset_set()
            if controls.quit:
                stopped_by = "user"
                break
            if window is not None and window.closed:
                stopped_by = "window closed"
                break
            if not worker.is_alive():
                break
        feed.end()
    except KeyboardInterrupt as exc:
        stopped_by = "interrupt"
        feed.end(exc)
    except SourceLostError as exc:
        stopped_by = "source lost"
        feed.end(exc)
    finally:
        feed.end()
        source.close()
        for s in (sink, raw):
            if s is not None:
                s.close()
        if window is not None:
            window.close()
        _join_patiently(worker)
        speaker.close()
    if worker.error is not None:
        folder.discard()
        raise worker.error
    assert worker.outcome is not None
    outcome = worker.outcome
    outcome.files.update(files)
    latency = stats.summary(getattr(source, "dropped", 0))
    records = [
        CueRecord(c.leg.value if c.leg is not None else None, c.basis, round(c.value, 2), round(c.crossed_s, 4),
                  round(c.raised_s, 4), shown.get((c.leg, c.raised_s)), c.message)
        for c in worker.cue_log
    ]
    live = LiveOutcome(outcome, stopped_by, latency, records, worker.setup.status, worker.coach.status(), speaker.warning, list(speaker.spoken))
    outcome.files["live"] = write_live_json(folder.path("live.json"), live, opts)
    with deferred():
        try:
            folder.commit()
        except InputError:
            folder.discard()
            raise
    outcome.files = {key: folder.final(path.name) for key, path in outcome.files.items()}
    return live


def _join_patiently(worker: PoseWorker) -> None:
    """Wait for the worker to write the files; a second Ctrl-C must not leave them half-written."""
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            log.warning("still writing the session's files; please wait")


def write_live_json(path: Path, live: LiveOutcome, opts: LiveOptions) -> Path:
    """Latency, dropped frames, cue timings, setup and set progress: what the live run measured about itself."""
    setup = live.setup
    data = {
        "stopped_by": live.stopped_by,
        "exercise": opts.exercise,
        "targets": {"reps": opts.reps, "sets": opts.sets},
        "latency": live.latency,
        "cues": [dataclasses.asdict(c) for c in live.cues],
        "setup": {
            "state": setup.state.value,
            "passed": {c.name.lower(): ok for c, ok in setup.passed.items()},
            "baseline_fppa_deg": {s.value: (None if v is None else round(v, 2)) for s, v in setup.baseline_fppa_deg.items()},
        },
        "sets": {"reps_counted_live": live.coach.reps_done, "set": live.coach.set_number, "reps_in_set": live.coach.reps_in_set, "all_sets_done": live.coach.all_sets_done},
        "sound": {"enabled": opts.sound, "warning": live.sound_warning, "spoken": live.spoken},
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


__all__ = ["Check", "LiveOptions", "LiveOutcome", "PoseFeed", "run_live", "render", "check_display"]
