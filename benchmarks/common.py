"""Helpers the benchmark scripts share: long test clips made by looping real clips, machine load.

The long clips are written to /tmp (never into the repository): the real clips' licences are
mostly unknown, and a few hundred MB of benchmark video has no place in git.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2

MEDIA = Path(os.environ.get("FORMCHECK_MEDIA", "/work/shared/media"))
MODEL = Path(os.environ.get("FORMCHECK_MODEL", "/work/shared/models/pose_landmarker_full.task"))
WORK = Path(os.environ.get("FORMCHECK_BENCH_DIR", "/tmp/fcbench"))
REPO = Path(__file__).resolve().parents[1]
FORMCHECK = os.environ.get("FORMCHECK_BIN", str(Path(sys.executable).with_name("formcheck")))


def looped_clip(src: Path, dst: Path, *, min_frames: int) -> Path:
    """`src` played again and again until at least `min_frames` frames, re-encoded as mp4v.

    Cached: an existing `dst` with enough frames is reused. Frames are written at the source's
    frame rate, so timestamps stay monotonic across the joins.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        cap = cv2.VideoCapture(str(dst))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        if n >= min_frames:
            return dst
    tmp = dst.with_name(f".{dst.name}.tmp.mp4")
    writer = None
    written = 0
    while written < min_frames:
        cap = cv2.VideoCapture(str(src))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        got_any = False
        while written < min_frames:
            ok, img = cap.read()
            if not ok:
                break
            got_any = True
            if writer is None:
                h, w = img.shape[:2]
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            writer.write(img)
            written += 1
        cap.release()
        if not got_any:
            raise RuntimeError(f"cannot decode {src}")
    writer.release()
    os.replace(tmp, dst)
    return dst


def clip_info(path: Path) -> dict:
    cap = cv2.VideoCapture(str(path))
    info = {
        "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        "fps": round(cap.get(cv2.CAP_PROP_FPS), 3),
        "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    }
    cap.release()
    return info


def load() -> str:
    """`uptime`'s load averages, recorded with every run: the machine is shared."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def update_results(section: str, body: str, path: Path | None = None) -> Path:
    """Replace one section of benchmarks/RESULTS.md, leaving every other section alone.

    A section is the text between `<!-- {section}:begin -->` and `<!-- {section}:end -->`; other
    engineers' sections of the same file are never touched. A missing section is appended.
    """
    path = path or REPO / "benchmarks" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    return path


def complete_reps(entry: dict) -> list[dict]:
    """A labelled clip's complete reps (manifest format): not cut off by the clip's start or end
    (`"complete": false`), and at most `rep_count` of them (the label's count wins over its rep
    list: squat_front_10 lists a cut-off 10th without marking it)."""
    reps = [r for r in entry["reps"] if r.get("complete") is not False]
    return reps[: entry["rep_count"]] if entry.get("rep_count") else reps


def md_table(header: list[str], rows: list[list]) -> str:
    """A GitHub markdown table; floats to one decimal unless already strings."""
    def cell(x) -> str:
        if isinstance(x, float):
            return "n/a" if x != x else f"{x:.1f}"
        return "" if x is None else str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_child(cmd: list[str], *, poll_s: float | None = None) -> dict:
    """Run a child to completion and account for it alone via wait4: wall s, CPU s, peak RSS.

    With `poll_s`, the child's RSS is also sampled every `poll_s` seconds ("rss_trace": list of
    (seconds since start, MiB)), to show when memory peaks, not only how high.
    """
    t0 = time.perf_counter()
    trace: list[tuple[float, float]] = []
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(poll_s):
                rss = _rss_mib(proc.pid)
                if rss is not None:
                    trace.append((round(time.perf_counter() - t0, 2), round(rss, 1)))

        poller = threading.Thread(target=poll, daemon=True) if poll_s else None
        if poller:
            poller.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {stderr.strip()[-500:]}")
    result = {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mib": ru.ru_maxrss / 1024, "stdout": stdout}
    if poll_s:
        result["rss_trace"] = trace
    return result
