"""The raw landmarks of a session, kept for the report pass, on disk as the session goes.

Each frame is one fixed-size record (about 0.8 kB: the model's own landmarks in float32, its
time, how many people it saw, the cue on screen). Records gather in a block of `BLOCK` frames;
with a path, each full block is appended to a NumPy file (`landmarks.npy` in the output folder)
and dropped from memory, so a session of any length holds one block, and a crash loses at most
the last block. The report pass reads the file back in chunks (`Recording.read`), so its memory
does not grow with the session either. Without a path (tests, short checks) blocks stay in memory.

The file is an ordinary `.npy` of a structured array: `numpy.load("landmarks.npy")` reads it,
field names as in `Recording.DTYPE`, coordinates in the source video's pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from formcheck.core.landmarks import NUM_LANDMARKS
from formcheck.judging.cues import BandCue, Cue
from formcheck.media.sources import Frame

# The header is written with room to spare and rewritten in place as the file grows, so the
# file is a valid .npy after every block (format 1.0; header length a multiple of 64 bytes).
# Kept by hand after measuring npy-append-array and open_memmap (benchmarks/RESULTS.md, "Streaming
# landmark records"): as fast or slower, and neither gives a reader every block as it is written.
_MAGIC = b"\x93NUMPY\x01\x00"
_HEADER_BYTES = 512


def _npy_header(dtype: np.dtype, frames: int) -> bytes:
    text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (frames,)})
    body = text.encode("latin1")
    room = _HEADER_BYTES - len(_MAGIC) - 2 - 1 - len(body)
    if room < 0:  # pragma: no cover - the record layout is fixed
        raise ValueError("landmark record layout too long for the reserved .npy header")
    return _MAGIC + struct.pack("<H", _HEADER_BYTES - len(_MAGIC) - 2) + body + b" " * room + b"\n"


def read_npy_length(path: Path) -> int:
    """Frames in a landmarks file, read from its header (which counts only rows already written)."""
    with open(path, "rb") as fh:
        try:
            np.lib.format.read_magic(fh)
            shape, _, _ = np.lib.format.read_array_header_1_0(fh)
        except ValueError:  # not yet a whole header
            return 0
    return int(shape[0])


class Recording:
    """Per-frame raw landmarks of one session, in frame order; see the module docstring."""

    BLOCK = 1024
    DTYPE = np.dtype(
        [
            ("frame_index", "<i8"),
            ("t_s", "<f8"),
            ("image_xy", "<f4", (NUM_LANDMARKS, 2)),
            ("world_xyz", "<f4", (NUM_LANDMARKS, 3)),
            ("visibility", "<f4", (NUM_LANDMARKS,)),
            ("people", "i1"),
            ("cue", "<i2"),  # index into Recording.cue_texts
        ]
    )

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._buffer = np.zeros(self.BLOCK, self.DTYPE)
        self._buffered = 0
        self._stored = 0  # frames flushed (to the file, or to `_blocks` without one)
        self._blocks: list[np.ndarray] = []
        self.cue_texts: list[str] = [""]  # the few distinct cue lines; records hold their index
        self._cue_codes: dict[str, int] = {"": 0}
        self.cue_events: list[Cue | BandCue] = []  # each cue once, when it was raised
        self._file = None
        if self.path is not None:
            self._file = self.path.open("wb")
            self._file.write(_npy_header(self.DTYPE, 0))
            self._file.flush()

    def __len__(self) -> int:
        return self._stored + self._buffered

    def append(
        self, frame: Frame, xy: np.ndarray, world: np.ndarray, visibility: np.ndarray, people: int, cues: list[Cue | BandCue]
    ) -> None:
        text = "; ".join(c.message for c in cues)
        code = self._cue_codes.get(text)
        if code is None:
            code = self._cue_codes[text] = len(self.cue_texts)
            self.cue_texts.append(text)
        row = self._buffer[self._buffered]
        row["frame_index"] = frame.index
        row["t_s"] = frame.t_s
        row["image_xy"] = xy
        row["world_xyz"] = world
        row["visibility"] = visibility
        row["people"] = min(people, 127)
        row["cue"] = code
        self._buffered += 1
        for c in cues:
            if c.raised_s == frame.t_s:
                self.cue_events.append(c)
        if self._buffered == self.BLOCK:
            self.flush()

    def flush(self) -> None:
        """Store the buffered frames (append them to the file and update its header)."""
        if self._buffered == 0:
            return
        rows = self._buffer[: self._buffered]
        if self._file is not None:
            self._file.write(rows.tobytes())
            self._file.seek(0)
            self._file.write(_npy_header(self.DTYPE, self._stored + self._buffered))
            self._file.seek(0, 2)
            self._file.flush()
        else:
            self._blocks.append(rows.copy())
        self._stored += self._buffered
        self._buffered = 0

    def close(self) -> None:
        """Flush and close the file; the Recording can still be read afterwards."""
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Records of frames [start, stop) as a structured array (a new array)."""
        self.flush()
        n = len(self)
        stop = n if stop is None else min(stop, n)
        start = max(0, min(start, stop))
        if stop == start:
            return np.zeros(0, self.DTYPE)
        if self.path is not None:
            if self._file is not None:
                self._file.flush()
            offset = _HEADER_BYTES + start * self.DTYPE.itemsize
            return np.fromfile(self.path, self.DTYPE, count=stop - start, offset=offset)
        parts, at = [], 0
        for block in self._blocks:
            lo, hi = max(start, at), min(stop, at + len(block))
            if lo < hi:
                parts.append(block[lo - at : hi - at])
            at += len(block)
        return np.concatenate(parts)

    @classmethod
    def read_one(cls, path: Path, index: int) -> np.void:
        """One frame's record straight from a landmarks file (another process may be writing it)."""
        return np.fromfile(path, cls.DTYPE, count=1, offset=_HEADER_BYTES + index * cls.DTYPE.itemsize)[0]

    def column(self, name: str) -> np.ndarray:
        """One field over the whole session, in its stored dtype (read in blocks: no full copy of
        the records is made on the way)."""
        field_dtype, _ = self.DTYPE.fields[name]
        out = np.empty((len(self), *field_dtype.shape), field_dtype.base)
        for lo in range(0, len(self), self.BLOCK * 4):
            part = self.read(lo, lo + self.BLOCK * 4)
            out[lo : lo + len(part)] = part[name]
        return out

    @property
    def t_s(self) -> np.ndarray:
        return self.column("t_s")

    @property
    def people(self) -> np.ndarray:
        return self.column("people")

    @property
    def cue_text(self) -> list[str]:
        """The cue line on each frame (a list as long as the session: for tests and short clips)."""
        return [self.cue_texts[c] for c in self.column("cue")]
