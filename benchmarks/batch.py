"""Batch throughput: twelve real clips analysed one `formcheck analyze` after another, by
`formcheck batch --workers 2` (a local process pool), and by `formcheck batch --scheduler` on a
2-worker Dask LocalCluster, side by side in one run, rotating the order each repeat.

Reported: wall seconds per variant and repeat, the speed-up of each batch over the one-by-one
runs beside it, and each worker process's resident memory early and late in the batch (flat
memory means a worker does not grow from video to video).

    python -m benchmarks.batch --repeats 2 [--write]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

import psutil

from benchmarks.common import FORMCHECK, MEDIA, MODEL, WORK, load, machine, md_table, stamp, update_results, write_json

# Twelve real clips (frontal, side and oblique; squats, lunges, single-leg squats), 4,124 frames.
CLIPS = [
    "squat_front_09.mp4", "squat_front_10.mp4", "squat_front_12.mp4", "squat_side_01.mp4", "squat_side_02.mp4",
    "lunge_oblique_01.mp4", "sls_front_01.mp4", "sls_front_03.mp4", "lateral_lunge_front_02.mp4", "sls_front_05.mp4",
    "squat_front_21.mp4", "squat_front_22.mp4",
]  # fmt: skip


class MemoryWatch:
    """Samples the resident memory of every descendant of `root` (the batch's workers) every 0.25 s."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                kids = psutil.Process(self.root).children(recursive=True)
            except psutil.NoSuchProcess:
                return
            now = time.perf_counter() - self._t0
            for kid in kids:
                try:
                    rss = kid.memory_info().rss / 2**20
                    if "python" in kid.name():
                        self.samples.setdefault(kid.pid, []).append((now, rss))
                except psutil.NoSuchProcess:
                    pass

    def stop(self) -> dict[int, dict[str, float]]:
        """Per worker (processes seen for at least 10 s): peak RSS in the first and last third."""
        self._stop.set()
        self._thread.join()
        out = {}
        for pid, series in self.samples.items():
            if len(series) < 40:
                continue
            third = len(series) // 3
            out[pid] = {"early_peak_mib": max(r for _, r in series[:third]), "late_peak_mib": max(r for _, r in series[-third:])}
        return out


def one_by_one(clips: list[Path], out: Path) -> float:
    t0 = time.perf_counter()
    for clip in clips:
        subprocess.run([FORMCHECK, "analyze", str(clip), "-e", "auto", "--quiet", "--model", str(MODEL), "--out", str(out / clip.stem)],
                       check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - t0


def batch(clips: list[Path], out: Path, extra: list[str], watch_root: int | None = None) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([FORMCHECK, "batch", *map(str, clips), "--out", str(out), "-e", "auto", "--quiet", "--model", str(MODEL), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    watch = MemoryWatch(watch_root if watch_root is not None else proc.pid)
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    memory = watch.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"batch failed ({proc.returncode}): {err[-500:]}")
    return wall, memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="replace the batch section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    clips = [MEDIA / c for c in CLIPS]
    missing = [c.name for c in clips if not c.exists()]
    if missing:
        raise SystemExit(f"missing clips in {MEDIA}: {', '.join(missing)}")
    import cv2

    frames = sum(int(cv2.VideoCapture(str(c)).get(cv2.CAP_PROP_FRAME_COUNT)) for c in clips)
    root = WORK / "batch"
    shutil.rmtree(root, ignore_errors=True)
    runs: list[dict] = []
    before = load()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: __import__("formcheck.batch.work"))  # import once, as a long-running cluster would have
        variants = ["one-by-one", "batch-2", "dask-2"]
        for rep in range(args.repeats):
            order = variants[rep % 3 :] + variants[: rep % 3]
            for variant in order:
                out = root / f"{variant}-{rep}"
                if variant == "one-by-one":
                    wall, memory = one_by_one(clips, out), {}
                elif variant == "batch-2":
                    wall, memory = batch(clips, out, ["--workers", "2"])
                else:
                    import os

                    wall, memory = batch(clips, out, ["--scheduler", cluster.scheduler_address], watch_root=os.getpid())
                runs.append({"repeat": rep, "variant": variant, "wall_s": round(wall, 1), "memory": memory})
                print(f"repeat {rep} {variant}: {wall:.1f} s", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    after = load()
    write_json(WORK / "batch.json", {"clips": CLIPS, "frames": frames, "runs": runs, "load_before": before, "load_after": after})

    rows, speedups = [], {"batch-2": [], "dask-2": []}
    for rep in range(args.repeats):
        base = next(r["wall_s"] for r in runs if r["repeat"] == rep and r["variant"] == "one-by-one")
        for r in (r for r in runs if r["repeat"] == rep):
            ratio = base / r["wall_s"]
            if r["variant"] in speedups:
                speedups[r["variant"]].append(ratio)
            mem = "; ".join(f"{m['early_peak_mib']:.0f} -> {m['late_peak_mib']:.0f}" for m in r["memory"].values())
            rows.append([rep + 1, r["variant"], r["wall_s"], f"{frames / r['wall_s']:.1f}", f"{ratio:.2f}x", mem or "-"])
    body = "\n".join([
        "## Batch (many videos at once)",
        "",
        f"Measured {stamp()} on {machine()}. Command: `python -m benchmarks.batch --repeats {args.repeats} --write`.",
        f"Load before: `{before}`; after: `{after}`.",
        "",
        f"{len(clips)} real clips from ../shared/media ({frames} frames; frontal, side and oblique squats, lunges and single-leg squats), "
        "each analysed with `-e auto` and the annotated video. One-by-one: a `formcheck analyze` process per clip, one after another. "
        "batch-2: `formcheck batch --workers 2` (a spawn process pool). dask-2: `formcheck batch --scheduler` on a LocalCluster "
        "of 2 worker processes (1 thread each) started before the timing, as a cluster would be. Speed-up = one-by-one wall / "
        "this wall, in the same repeat. Memory: each worker process's peak RSS in the first and the last third of the run (MiB).",
        "",
        md_table(["repeat", "variant", "wall s", "frames/s", "speed-up", "worker memory early -> late (MiB)"], rows),
        "",
        f"Median speed-up: batch-2 {statistics.median(speedups['batch-2']):.2f}x (each repeat "
        + ", ".join(f"{s:.2f}x" for s in speedups["batch-2"]) + f"), dask-2 {statistics.median(speedups['dask-2']):.2f}x (each repeat "
        + ", ".join(f"{s:.2f}x" for s in speedups["dask-2"]) + ").",
    ])  # fmt: skip
    print(body)
    if args.write:
        update_results("batch", body)


if __name__ == "__main__":
    main()
