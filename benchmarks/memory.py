"""Memory: peak RSS of `formcheck analyze` on a 1-minute and a 5-minute clip.

    python benchmarks/memory.py [--write]

Both clips loop the same real clip (../shared/media/squat_front_10.mp4, 1280x720, 23.976 fps)
into /tmp, so the only difference is length. Each run is the real CLI with the annotated video
(`formcheck analyze CLIP --exercise squat --out TMP --quiet`); peak RSS comes from wait4 (the
kernel's high-water mark for that process alone) and the RSS is sampled every half second to
show whether it climbs while frames stream or jumps in the report pass at the end.

What is kept per frame, by design: nothing the size of a frame's landmarks. The Recording
appends each block of 1,024 frames to landmarks.npy in the output folder (one block in memory)
and the report pass reads it back in chunks of 2,048 frames (formcheck/pipeline/report_frames.py),
keeping for the whole session only small arrays (time, phase, the standing baseline's
inputs, yaw, person height: about 100 bytes a frame at most) and one result per rep. The
report's plots use at most 2,000 points a line and, past 60 reps, no artist per rep. The frame queues (4 decoded
frames, 8 frames waiting for the video encoder) are bounded and do not depend on length, but how
full they are at the peak depends on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    FORMCHECK, MEDIA, MODEL, WORK, clip_info, load, looped_clip, machine, md_table, run_child, stamp, update_results, write_json,
)

SOURCE = "squat_front_10.mp4"
FPS = 23.976
LENGTHS_MIN = (1, 5)


def measure(minutes: int) -> dict:
    frames = int(round(minutes * 60 * FPS))
    clip = looped_clip(MEDIA / SOURCE, WORK / f"squat_front_10_{minutes}min.mp4", min_frames=frames)
    before = load()
    with tempfile.TemporaryDirectory(prefix="fcmem-") as d:
        cmd = [FORMCHECK, "analyze", str(clip), "--exercise", "squat", "--out", d, "--quiet", "--model", str(MODEL)]
        r = run_child(cmd, poll_s=0.5)
        summary = json.loads((Path(d) / "summary.json").read_text())
    r.pop("stdout")
    trace = r["rss_trace"]
    # RSS while frames stream: after the first 10% of the run (model loaded, queues full) and
    # before the last 10% (the report pass).
    stream = [m for t, m in trace if 0.1 * r["wall_s"] <= t <= 0.9 * r["wall_s"]]
    return {
        "minutes": minutes,
        "clip": str(clip),
        **clip_info(clip),
        "frames_analysed": summary["frames_analysed"],
        "reps": summary["rep_count"],
        "uptime_before": before,
        "stream_rss_first_mib": stream[0] if stream else None,
        "stream_rss_last_mib": stream[-1] if stream else None,
        **r,
    }


def table(runs: list[dict]) -> str:
    rows = []
    for r in runs:
        peak_t, _ = max(r["rss_trace"], key=lambda x: x[1])
        slope_kb = ((r["stream_rss_last_mib"] - r["stream_rss_first_mib"]) * 1024 / (0.8 * r["frames_analysed"]))
        rows.append([
            f"{r.get('label', '')}{r['minutes']} min ({r['frames_analysed']} frames, {r['width']}x{r['height']})",
            f"{r['peak_rss_mib']:.0f}",
            f"{peak_t / r['wall_s']:.0%}",
            f"{r['stream_rss_first_mib']:.0f} -> {r['stream_rss_last_mib']:.0f}",
            f"{slope_kb:.1f}",
            f"{r['rss_trace'][-1][1]:.0f}",
            f"{r['wall_s']:.0f}",
            r["uptime_before"].split("load average:")[-1].strip(),
        ])
    md = md_table(["clip", "peak RSS MiB (wait4)", "peak reached at (share of the run)",
                   "RSS while streaming, at 10% -> 90% of the run, MiB", "streaming growth kB/frame",
                   "RSS at the last sample (files being written) MiB", "wall s", "load before"], rows)
    if len(runs) >= 2:
        a, b = runs[0], runs[1]
        per_frame_kb = (b["peak_rss_mib"] - a["peak_rss_mib"]) * 1024 / (b["frames_analysed"] - a["frames_analysed"])
        md += (f"\n\nPeak RSS differs by {b['peak_rss_mib'] - a['peak_rss_mib']:+.0f} MiB between {a['minutes']} and "
               f"{b['minutes']} min ({per_frame_kb:.1f} kB per extra frame if all of it were length; the streaming "
               "growth column is the part that is).")
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", default=",".join(map(str, LENGTHS_MIN)))
    ap.add_argument("--json", type=Path, default=WORK / "memory.json")
    ap.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    ap.add_argument("--note", default="")
    ap.add_argument("--from-json", type=Path, help="rebuild the table from a saved run instead of measuring")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        runs, when, where = saved["runs"], saved["when"], saved["machine"]
    else:
        when, where = stamp(), machine()
        runs = []
        for m in (int(x) for x in args.minutes.split(",")):
            runs.append(measure(m))
            print(f"{m} min: peak {runs[-1]['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
        write_json(args.json, {"when": when, "machine": where, "runs": runs})
    md = table(runs)
    print(md)
    if args.write:
        body = "\n".join([
            "## Memory",
            "",
            *([args.note, ""] if args.note else []),
            f"Measured {when} on {where}: peak RSS of the whole `formcheck analyze` process (wait4 "
            f"ru_maxrss), annotated video on, clips made by looping ../shared/media/{SOURCE}.",
            f"Command: `python benchmarks/memory.py --write` (raw runs with the RSS trace: {args.json}).",
            "",
            md,
        ])
        update_results("memory", body)


if __name__ == "__main__":
    main()
