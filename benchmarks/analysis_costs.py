"""Where an analysis's CPU goes besides the pose model: per-frame cost of each stage the analysing
process runs, measured on the long landscape clip of `benchmarks.workers`.

Passes over the same clip, one process, each adding one stage to the one before: decode; + shrink
to 640 px; + the stages after the model (smoothing, metrics, tracker, verdicts, cues, the
landmarks recording), fed the clip's cached landmarks instead of the model; + drawing the
annotated frame; + H.264 encoding (x264 "superfast", what `analyze` writes, or "ultrafast"). A
stage's cost is its pass's process CPU time minus the pass before it, per frame; passes rotate
order each repeat and the median is reported. The pose model itself is `benchmarks.workers`'s
bare loop.

    python -m benchmarks.analysis_costs [--repeats 3] [--write]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import MEDIA, WORK, clip_info, load, looped_clip, machine, md_table, stamp, update_results
from benchmarks.speed import CLIPS
from benchmarks.trackers import landmarks
from formcheck.config import Config
from formcheck.core.pose_frame import PoseFrame
from formcheck.media import sinks
from formcheck.media.recording import Recording
from formcheck.media.sinks import VideoSink
from formcheck.media.sources import VideoFileSource
from formcheck.pipeline.stages import Pipeline
from formcheck.pose.landmarker import shrink_for_inference
from formcheck.reporting.annotate import annotate
from formcheck.trackers import tracker_class

PASSES = ["decode", "shrink", "stages", "draw", "encode-superfast", "encode-ultrafast"]


def one_pass(clip: Path, lm: dict, upto: str, folder: Path) -> tuple[float, int]:
    """Process CPU seconds and frames for the stages up to `upto`."""
    level = PASSES.index(upto)
    config = Config()
    pipeline = Pipeline(None, tracker_class("squat")(None, config.trackers), config, Recording(folder / "landmarks.npy"))  # type: ignore[arg-type]
    n_lm = len(lm["t"])
    sink = None
    if level >= PASSES.index("encode-superfast"):
        sinks.X264_OPTIONS = dict(sinks.X264_OPTIONS, preset=upto.split("-")[1])
    frames = 0
    source = VideoFileSource(clip)
    started = time.process_time()
    try:
        for frame in source:
            frames += 1
            if level < 1:
                continue
            small, scale = shrink_for_inference(frame.image)
            if level < 2:
                continue
            j = frame.index % n_lm
            seen = bool(lm["people"][j])
            h, w = frame.image.shape[:2]
            pose = PoseFrame(frame.t_s, lm["xy"][j], lm["world"][j], lm["vis"][j], (w, h), int(lm["people"][j])) if seen else None
            result = pipeline.process_pose(frame, pose)
            if level < 3:
                continue
            snapshot = dataclasses.replace(result, state=copy.copy(result.state))
            drawn = annotate(small, snapshot, "squat", scale)
            if level < 4:
                continue
            if sink is None:
                sink = VideoSink(folder / "annotated.mp4", source.info.fps, (drawn.shape[1], drawn.shape[0]))
            sink.write(drawn)
    finally:
        source.close()
        pipeline.recording.close()
        if sink is not None:
            sink.close()
    return time.process_time() - started, frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    src, want = CLIPS["landscape"]
    clip = looped_clip(MEDIA / src, WORK / f"{Path(src).stem}_{want}.mp4", min_frames=want)
    lm = landmarks(MEDIA / src, Path.home() / ".cache" / "formcheck" / "bench" / "lm")
    before = load()
    cpu: dict[str, list[float]] = {p: [] for p in PASSES}
    for k in range(args.repeats):
        for p in PASSES[k % len(PASSES) :] + PASSES[: k % len(PASSES)]:
            with tempfile.TemporaryDirectory(prefix="fccosts-") as d:
                s, n = one_pass(clip, lm, p, Path(d))
            cpu[p].append(1000 * s / n)
            print(f"#{k + 1} {p}: {1000 * s / n:.2f} ms/frame", file=sys.stderr, flush=True)
    after = load()
    med = {p: statistics.median(v) for p, v in cpu.items()}
    rows = [
        ["decode (1280x720 mp4v)", med["decode"]],
        ["shrink to 640x360", med["shrink"] - med["decode"]],
        ["stages after the model + recording", med["stages"] - med["shrink"]],
        ["drawing the annotated frame", med["draw"] - med["stages"]],
        ["H.264 encode, superfast (shipped)", med["encode-superfast"] - med["draw"]],
        ["H.264 encode, ultrafast", med["encode-ultrafast"] - med["draw"]],
        ["everything but the model (shipped)", med["encode-superfast"]],
    ]
    info = clip_info(clip)
    body = "\n".join([
        "## Where an analysis's CPU goes besides the model",
        "",
        f"Measured {stamp()} on {machine()}. Command: `python -m benchmarks.analysis_costs --repeats {args.repeats} --write`.",
        f"Clip: {info['width']}x{info['height']}, {info['frames']} frames ({src} looped). Process CPU per frame, median of "
        f"{args.repeats} repeats, each stage as the difference between a pass with it and the pass before. Load before: `{before}`; after: `{after}`.",
        "",
        md_table(["stage", "CPU ms/frame"], [[name, f"{v:.2f}"] for name, v in rows]),
    ])  # fmt: skip
    print(body)
    if args.write:
        update_results("analysis-costs", body)


if __name__ == "__main__":
    main()
