"""One long video on every core: `analyze --workers 2` against `--workers 1` and against the bare
one-process model loop (decode + PoseLandmarker, no formcheck) on the same frames, side by side,
rotating the order each repeat. Also checks that both analyze runs give the same reps and flags.

    python -m benchmarks.workers [--repeats 3] [--clip landscape] [--write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.common import FORMCHECK, MEDIA, MODEL, WORK, clip_info, load, looped_clip, machine, md_table, run_child, stamp, update_results, write_json
from benchmarks.speed import CLIPS

SPEED = Path(__file__).with_name("speed.py")


def analyze(clip: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="fcworkers-") as d:
        r = run_child([FORMCHECK, "analyze", str(clip), "--exercise", "squat", "--out", d, "--quiet", "--model", str(MODEL),
                       "--workers", str(workers)])  # fmt: skip
        s = json.loads((Path(d) / "summary.json").read_text())
    r.pop("stdout", None)
    r.update(frames=s["frames_analysed"], reps=s["rep_count"], flags=[r_["valgus"] for r_ in s["reps"]], fps=s["frames_analysed"] / r["wall_s"])
    return r


def bare(clip: Path) -> dict:
    r = run_child([sys.executable, str(SPEED), "--bare-worker", str(clip), "--max-side", "640", "--num-poses", "1"])
    r.update(json.loads(r.pop("stdout").strip().splitlines()[-1]))
    r["fps"] = r["frames"] / r["loop_s"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clip", default="landscape", choices=sorted(CLIPS))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    src, want = CLIPS[args.clip]
    clip = looped_clip(MEDIA / src, WORK / f"{Path(src).stem}_{want}.mp4", min_frames=want)
    info = clip_info(clip)
    variants = ["workers-1", "workers-2", "bare-640"]
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for k in range(args.repeats):
        for v in variants[k % 3 :] + variants[: k % 3]:
            before = load()
            r = analyze(clip, int(v[-1])) if v.startswith("workers") else bare(clip)
            r["uptime_before"] = before
            runs[v].append(r)
            print(f"#{k + 1} {v}: {r['fps']:.1f} frames/s, CPU {1000 * r['cpu_s'] / r['frames']:.1f} ms/frame | {before}", file=sys.stderr, flush=True)
    write_json(WORK / "workers.json", {"clip": str(clip), "info": info, "runs": runs})

    same = all(a["reps"] == b["reps"] and a["flags"] == b["flags"] for a, b in zip(runs["workers-1"], runs["workers-2"]))
    rows = []
    for k in range(args.repeats):
        w1, w2, b = runs["workers-1"][k], runs["workers-2"][k], runs["bare-640"][k]
        rows.append([k + 1, f"{w1['fps']:.1f}", f"{w2['fps']:.1f}", f"{b['fps']:.1f}", f"{w2['fps'] / b['fps']:.2f}x",
                     f"{w2['fps'] / w1['fps']:.2f}x", f"{1000 * w1['cpu_s'] / w1['frames']:.1f} / {1000 * w2['cpu_s'] / w2['frames']:.1f} / "
                     f"{1000 * b['cpu_s'] / b['frames']:.1f}", f"{w1['peak_rss_mib']:.0f} / {w2['peak_rss_mib']:.0f}", w2["uptime_before"].split("load average:")[-1].strip()])  # fmt: skip
    med = statistics.median
    body = "\n".join([
        "## One video on every core (`analyze --workers`)",
        "",
        f"Measured {stamp()} on {machine()}. Command: `python -m benchmarks.workers --repeats {args.repeats} --clip {args.clip} --write`.",
        f"Clip: {args.clip}, {info['width']}x{info['height']}, {info['frames']} frames ({src} looped). Whole `formcheck analyze` processes "
        "(start-up, model load, annotated video, report pass) with `--workers 1` and `--workers 2`; `bare-640` is the bare one-process "
        "model loop (decode, shrink to 640 px, PoseLandmarker; start-up excluded). Peak RSS is the analyze process's own "
        "(wait4; its pose workers are separate processes).",
        "",
        md_table(["repeat", "workers 1 frames/s", "workers 2 frames/s", "bare frames/s", "workers 2 / bare", "workers 2 / workers 1",
                  "CPU ms/frame (w1 / w2 / bare)", "peak RSS MiB (w1 / w2)", "load before workers 2"], rows),  # fmt: skip
        "",
        f"Median: workers 2 at {med(r['fps'] for r in runs['workers-2']) / med(r['fps'] for r in runs['bare-640']):.2f}x the bare loop, "
        f"{med(r['fps'] for r in runs['workers-2']) / med(r['fps'] for r in runs['workers-1']):.2f}x workers 1. "
        f"Same rep count and flags in every repeat: {'yes' if same else 'NO'}.",
    ])  # fmt: skip
    print(body)
    if args.write:
        update_results("workers", body)


if __name__ == "__main__":
    main()
