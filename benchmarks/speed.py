"""Speed: the whole `formcheck analyze` process against bare decode + PoseLandmarker, same frames.

    python benchmarks/speed.py [--repeats 3] [--write]

For each test clip (made in /tmp by looping real clips from ../shared/media), each repeat runs,
back to back and in rotating order:

- `analyze`: the real CLI, `formcheck analyze CLIP --exercise squat --out TMP --quiet`, timed as
  a whole process (start-up, model load, annotated.mp4, summary, frames.csv and report.html);
- `analyze-no-video`: the same with `--no-video` (no annotation, no mp4 encoding), to show
  what the annotated video costs;
- `bare`: a fresh Python process doing only cv2.VideoCapture -> BGR2RGB -> PoseLandmarker
  (Tasks API, VIDEO mode, same model, default options: one pose) on the full frame, the way a
  naive user would;
- `bare-640`: the same with frames shrunk to 640 px on the long side first, as formcheck does;
- `bare-640-2p`: bare-640 with num_poses=2, what formcheck asks for while someone else is in
  view (formcheck/pose/people_watch.py; alone, it tracks one pose and looks for others every 2 s):
  the cost of following one person among several.

Bare throughput is frames over the decode+inference loop alone (start-up excluded: the strict
comparison), and also over the whole process. CPU seconds (user+system, from wait4) are
recorded too: on a shared machine they vary less than wall time. The median over repeats is
reported. `analyze / this (CPU per frame)` compares CPU seconds per frame: the ratio that holds
when the cores are contended (under load, wall-clock frames/s follow CPU cost). `--write` puts the table into benchmarks/RESULTS.md (section "speed").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    FORMCHECK, MEDIA, MODEL, WORK, clip_info, load, looped_clip, machine, md_table, run_child, stamp, update_results, write_json,
)

CLIPS = {
    # name: (source clip in ../shared/media, frames wanted)
    "landscape": ("squat_front_10.mp4", 1600),  # 1280x720, 23.976 fps, looped 4x
    "portrait": ("squat_front_01.mov", 1500),  # 1080x1920 phone video, looped 21x
}
VARIANTS = ("analyze", "analyze-no-video", "bare", "bare-640", "bare-640-2p")


def bare_worker(clip: str, max_side: int, num_poses: int) -> None:
    """Runs in its own process: decode + model, nothing else; prints one JSON line."""
    t0 = time.perf_counter()
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(MODEL)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=num_poses,
    )
    landmarker = vision.PoseLandmarker.create_from_options(options)
    cap = cv2.VideoCapture(clip)
    t_loop = time.perf_counter()
    frames = found = 0
    last_ms = -1
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if max_side:
            h, w = img.shape[:2]
            s = max_side / max(h, w)
            if s < 1.0:
                img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        ms = max(int(cap.get(cv2.CAP_PROP_POS_MSEC)), last_ms + 1)
        last_ms = ms
        result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(img, cv2.COLOR_BGR2RGB)), ms)
        found += bool(result.pose_landmarks)
        frames += 1
    loop_s = time.perf_counter() - t_loop
    landmarker.close()
    print(json.dumps({"frames": frames, "found": found, "loop_s": loop_s, "startup_s": t_loop - t0}))


def run_variant(variant: str, clip: Path, frames: int) -> dict:
    if variant.startswith("analyze"):
        extra = ["--no-video"] if variant == "analyze-no-video" else []
        with tempfile.TemporaryDirectory(prefix="fcspeed-") as d:
            cmd = [FORMCHECK, "analyze", str(clip), "--exercise", "squat", "--out", d, "--quiet", "--model", str(MODEL)]
            r = run_child(cmd + extra)
            summary = json.loads((Path(d) / "summary.json").read_text())
            r["frames"] = summary["frames_analysed"]
            r["reps"] = summary["rep_count"]
        r["fps"] = r["frames"] / r["wall_s"]
    else:
        side = 0 if variant == "bare" else 640
        poses = 2 if variant.endswith("2p") else 1
        r = run_child([sys.executable, __file__, "--bare-worker", str(clip), "--max-side", str(side), "--num-poses", str(poses)])
        r.update(json.loads(r.pop("stdout").strip().splitlines()[-1]))
        r["fps"] = r["frames"] / r["loop_s"]
        r["process_fps"] = r["frames"] / r["wall_s"]
    r.pop("stdout", None)
    r["cpu_ms_per_frame"] = 1000.0 * r["cpu_s"] / r["frames"]
    return r


def benchmark(repeats: int, clips: list[str], variants: list[str], save: Path) -> dict:
    """Runs everything; `save` gets the results so far after every run (a long run cut short keeps them)."""
    results: dict = {"when": stamp(), "machine": machine(), "repeats": repeats, "clips": {}}
    for name in clips:
        src, want = CLIPS[name]
        clip = looped_clip(MEDIA / src, WORK / f"{Path(src).stem}_{want}.mp4", min_frames=want)
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        results["clips"][name] = {"source": src, "clip": str(clip), **clip_info(clip), "runs": runs}
        for k in range(repeats):
            order = variants[k % len(variants):] + variants[: k % len(variants)]  # rotate: drift hits all alike
            for v in order:
                before = load()
                r = run_variant(v, clip, want)
                r["uptime_before"] = before
                runs[v].append(r)
                write_json(save, results)
                print(f"{name} {v} #{k + 1}: {r['frames']} frames {r['fps']:.1f} fps "
                      f"(cpu {r['cpu_ms_per_frame']:.1f} ms/frame) | {before}", file=sys.stderr, flush=True)
    return results


def _med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs) if runs else float("nan")


def table(results: dict) -> str:
    rows = []
    for name, c in results["clips"].items():
        runs = c["runs"]
        a = _med(runs.get("analyze", []), "fps")
        a_cpu = _med(runs.get("analyze", []), "cpu_ms_per_frame")
        for v, rs in runs.items():
            fps = _med(rs, "fps")
            cpu = _med(rs, "cpu_ms_per_frame")
            rows.append([
                f"{name} {c['width']}x{c['height']}, {c['frames']} frames", v, f"{fps:.1f}",
                f"{fps:.1f}" if v.startswith("analyze") else f"{_med(rs, 'process_fps'):.1f}",
                f"{cpu:.1f}",
                f"{_med(rs, 'peak_rss_mib'):.0f}",
                "" if v == "analyze" else f"{a / fps:.0%}",
                "" if v == "analyze" else f"{cpu / a_cpu:.0%}",
                " / ".join(f"{r['fps']:.1f}" for r in rs),
            ])
    header = ["clip", "run", "frames/s (median)", "frames/s whole process", "CPU ms/frame", "peak RSS MiB",
              "analyze / this (frames/s)",
              "analyze / this (CPU per frame)", "each repeat (frames/s)"]
    return md_table(header, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--json", type=Path, default=WORK / "speed.json")
    ap.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    ap.add_argument("--note", default="", help="a line printed above the table (e.g. 'provisional')")
    ap.add_argument("--from-json", type=Path, help="rebuild the table from a saved run instead of measuring")
    ap.add_argument("--bare-worker", help=argparse.SUPPRESS)
    ap.add_argument("--max-side", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--num-poses", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_worker:
        bare_worker(args.bare_worker, args.max_side, args.num_poses)
        return
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = benchmark(args.repeats, args.clips.split(","), args.variants.split(","), args.json)
    md = table(results)
    print(md)
    if args.write:
        loads = sorted((float(u.split(",")[0]), u) for u in (
            r["uptime_before"].split("load average:")[-1].strip()
            for c in results["clips"].values() for rs in c["runs"].values() for r in rs))
        body = "\n".join([
            "## Speed",
            "",
            *( [args.note, ""] if args.note else [] ),
            f"Measured {results['when']} on {results['machine']}, median of {results['repeats']} repeats, "
            "variants run back to back in rotating order.",
            f"Command: `python benchmarks/speed.py --repeats {results['repeats']} --write` (raw runs: {args.json}).",
            f"Load averages (1/5/15 min) before the runs: lowest {loads[0][1]}, highest {loads[-1][1]}.",
            "",
            md,
        ])
        update_results("speed", body)


if __name__ == "__main__":
    main()
