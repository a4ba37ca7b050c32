"""Streaming landmark records to .npy: formcheck's header rewrite against the library ways.

    python benchmarks/npy_append.py [--frames 36000] [--repeat 3]

Writes `--frames` records of the real record layout (`Recording.DTYPE`, 811 bytes a frame) in
blocks of `Recording.BLOCK` (1,024) frames, as a session does, three ways, each in its own
process (so its peak RSS is its own):

- `hand`: `formcheck.media.recording.Recording` (a 512-byte header rewritten in place after each
  block, then flushed);
- `npy-append-array`: `NpyAppendArray.append(block)` (PyPI `npy-append-array`);
- `open_memmap`: `numpy.lib.format.open_memmap` preallocated, doubling (a copy into a new file)
  when full, the header cut to the rows written at the end.

For each: write time per frame (median of `--repeat` runs), peak RSS above the process's RSS
before writing, and crash safety: after every block, a second reader (`numpy.load`, as
`pose/chunks.py` reads a file another process is writing) must see a valid .npy holding exactly
the frames appended so far, with their values. The check runs in a separate pass, so it does not
count in the time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formcheck.media.recording import Recording  # noqa: E402

METHODS = ("hand", "npy-append-array", "open_memmap")


def _blocks(frames: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for lo in range(0, frames, Recording.BLOCK):
        n = min(Recording.BLOCK, frames - lo)
        b = np.zeros(n, Recording.DTYPE)
        b["frame_index"] = np.arange(lo, lo + n)
        b["t_s"] = b["frame_index"] / 30.0
        b["image_xy"] = rng.random((n, *Recording.DTYPE["image_xy"].shape), np.float32)
        b["world_xyz"] = rng.random((n, *Recording.DTYPE["world_xyz"].shape), np.float32)
        out.append(b)
    return out


class _Hand:
    def __init__(self, path: Path) -> None:
        self.rec = Recording(path)

    def append(self, block: np.ndarray) -> None:
        rec = self.rec
        rec._buffer[: len(block)] = block  # what Recording.append fills, a row at a time
        rec._buffered = len(block)
        rec.flush()

    def close(self) -> None:
        self.rec.close()


class _AppendArray:
    def __init__(self, path: Path) -> None:
        from npy_append_array import NpyAppendArray

        self.arr = NpyAppendArray(str(path), delete_if_exists=True)

    def append(self, block: np.ndarray) -> None:
        self.arr.append(block)

    def close(self) -> None:
        self.arr.close()


class _Memmap:
    def __init__(self, path: Path) -> None:
        self.path, self.n = path, 0
        self.mm = np.lib.format.open_memmap(path, "w+", Recording.DTYPE, (Recording.BLOCK,))

    def append(self, block: np.ndarray) -> None:
        if self.n + len(block) > len(self.mm):
            bigger = self.path.with_suffix(".grow.npy")
            mm = np.lib.format.open_memmap(bigger, "w+", Recording.DTYPE, (2 * len(self.mm),))
            mm[: self.n] = self.mm[: self.n]
            mm.flush()
            del self.mm
            os.replace(bigger, self.path)
            self.mm = mm
        self.mm[self.n : self.n + len(block)] = block
        self.mm.flush()
        self.n += len(block)

    def close(self) -> None:
        self.mm.flush()
        offset = self.mm.offset
        del self.mm
        with open(self.path, "r+b") as fh:  # the header to the rows written, the rest cut off
            fh.seek(0)
            np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(Recording.DTYPE),
                                                      "fortran_order": False, "shape": (self.n,)})
            if fh.tell() != offset:  # numpy pads the shape so that it can grow in place
                raise RuntimeError("the new header is not as long as the old one")
            fh.truncate(offset + self.n * Recording.DTYPE.itemsize)


WRITERS = {"hand": _Hand, "npy-append-array": _AppendArray, "open_memmap": _Memmap}


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(method: str, frames: int, check: bool) -> dict:
    blocks = _blocks(frames)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "landmarks.npy"
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) starts again from here
        before = _rss_kb("VmRSS")
        t0 = time.perf_counter()
        w = WRITERS[method](path)
        bad: list[str] = []
        done = 0
        for b in blocks:
            w.append(b)
            done += len(b)
            if check:
                try:
                    seen = np.load(path)
                    if len(seen) != done or not np.array_equal(seen["frame_index"], np.arange(done)):
                        bad.append(f"after {done} frames a reader sees {len(seen)}")
                except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
                    bad.append(f"after {done} frames: {type(exc).__name__}: {exc}")
        w.close()
        wall = time.perf_counter() - t0
        peak_mb = (_rss_kb("VmHWM") - before) / 1024
        final = np.load(path)
        return {
            "method": method, "frames": frames, "s": wall, "us_per_frame": wall / frames * 1e6,
            "peak_rss_above_start_mb": peak_mb,
            "final_ok": bool(len(final) == frames and np.array_equal(final["frame_index"], np.arange(frames))),
            "header_bytes": int(path.stat().st_size - frames * Recording.DTYPE.itemsize),
            "blocks_unreadable_or_wrong": len(bad), "first_problem": bad[0] if bad else None,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=36000, help="frames per run (36,000: 20 min at 30 fps)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.frames, args.check)))
        return

    def run(method: str, check: bool) -> dict:
        cmd = [sys.executable, __file__, "--child", method, "--frames", str(args.frames)] + (["--check"] if check else [])
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    print(f"{args.frames} frames of {Recording.DTYPE.itemsize} bytes, blocks of {Recording.BLOCK}, median of {args.repeat}")
    print("| method | us/frame | peak RSS above start (MB) | header bytes | blocks a reader saw wrong | final file |")
    print("| --- | --- | --- | --- | --- | --- |")
    for method in METHODS:
        runs = [run(method, False) for _ in range(args.repeat)]
        checked = run(method, True)
        med = sorted(runs, key=lambda r: r["us_per_frame"])[len(runs) // 2]
        wrong = f"{checked['blocks_unreadable_or_wrong']} of {-(-args.frames // Recording.BLOCK)}"
        if checked["first_problem"]:
            wrong += f" ({checked['first_problem']})"
        print(f"| {method} | {med['us_per_frame']:.2f} | {med['peak_rss_above_start_mb']:.1f} | {med['header_bytes']} | "
              f"{wrong} | {'valid' if med['final_ok'] else 'WRONG'} |")


if __name__ == "__main__":
    main()
