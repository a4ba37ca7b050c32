"""Live's first second on a loaded machine: frames the model saw, and the first rep's verdict.

    python benchmarks/live_start.py [--runs 6] [--burners 6] [--baseline TREE] [--write]

`formcheck live --source squat_front_21.mp4` (a real man whose knees cave on every rep, the first
rep starting at 0.13 s) runs with `--burners` processes spinning beside it, as a busy laptop
would be. Per run: the longest gap between analysed frames in the first second, how many of the
first second's frames the model saw, and whether the first rep's flags are analyze's. With
`--baseline TREE` (a checkout of older code, for example `git worktree add /tmp/old <commit>`)
the same is measured for that tree's code, run for run alternately with this one, so both see
the same load. `--write` puts the table into benchmarks/RESULTS.md (section "live-start").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MEDIA, MODEL, REPO, load, machine, md_table, stamp, update_results

CLIP = MEDIA / "squat_front_21.mp4"
FIRST_S = 1.0


def _run(cmd: list[str], out: Path, tree: Path) -> dict:
    env = dict(os.environ, FORMCHECK_MODEL=str(MODEL), FORMCHECK_HOME=str(out.parent / "home"), PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-m", "formcheck", *cmd, "--out", str(out)], capture_output=True, text=True, env=env, cwd=tree)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({tree}): {proc.stderr.strip()[-400:]}")
    return json.loads((out / "summary.json").read_text())


def first_second(out: Path) -> tuple[float, int]:
    """The longest gap between analysed frames in the first second (s), and how many were analysed."""
    with open(out / "frames.csv") as f:
        t = [float(r["t_s"]) for r in csv.DictReader(f)]
    early = [x for x in t if x <= FIRST_S]
    gaps = [b - a for a, b in zip(early, early[1:])]
    return (max(gaps) if gaps else FIRST_S), len(early)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--burners", type=int, default=6, help="processes spinning beside live")
    ap.add_argument("--baseline", type=Path, help="a checkout of older code to run alternately")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if not CLIP.exists():
        raise SystemExit(f"{CLIP} not found (set FORMCHECK_MEDIA)")
    trees = {"this code": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    rows = []
    with tempfile.TemporaryDirectory(prefix="fc-live-start-") as tmp:
        ref = _run(["analyze", str(CLIP), "-e", "squat", "--quiet"], Path(tmp) / "analyze", REPO)
        want = ref["reps"][0]["valgus"]
        results: dict[str, list] = {name: [] for name in trees}
        for i in range(args.runs):
            for name, tree in trees.items():
                burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)]
                try:
                    out = Path(tmp) / f"{name.replace(' ', '_')}{i}"
                    live = _run(["live", "--source", str(CLIP), "-e", "squat", "--no-window", "--yes", "--quiet"], out, tree)
                finally:
                    for p in burners:
                        p.kill()
                        p.wait()
                gap, seen = first_second(out)
                first = next((r for r in live["reps"] if abs(r["start_s"] - ref["reps"][0]["start_s"]) <= 0.3), None)
                results[name].append((gap, seen, first is not None and first["valgus"] == want))
                print(f"{name} run {i + 1}: gap {gap:.2f} s, {seen} frames analysed in the first second, first rep {'as analyze' if results[name][-1][2] else 'differs or missed'}")
        fps_frames = round(FIRST_S * 29.97) + 1
        for name, res in results.items():
            gaps = sorted(g for g, _, _ in res)
            rows.append([name, f"{gaps[len(gaps) // 2]:.2f} (max {gaps[-1]:.2f})", f"{sorted(s for _, s, _ in res)[len(res) // 2]} of {fps_frames}",
                         f"{sum(ok for _, _, ok in res)} of {len(res)}"])
    table = md_table(["code", "longest gap in the first second, s (median, max)", "frames analysed in the first second (median)", "first rep flagged as analyze"], rows)
    body = (f"### Live's first second under load\n\n{stamp()}, {machine()}, {args.burners} spinning processes beside live; "
            f"load: {load()}\n\n`python benchmarks/live_start.py --runs {args.runs} --burners {args.burners}"
            f"{' --baseline TREE' if args.baseline else ''}` on `{CLIP.name}` (analyze flags the first rep {want}).\n\n{table}\n")
    print(body)
    if args.write:
        update_results("live-start", body)


if __name__ == "__main__":
    main()
