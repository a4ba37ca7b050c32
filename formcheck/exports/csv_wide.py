"""One row per frame, every landmark and angle in its own column: for spreadsheets and Kinovea users."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def _cell(x: float, nd: int) -> str:
    return "" if not np.isfinite(x) else f"{x:.{nd}f}"


def write_wide_csv(
    path: Path, t_s: np.ndarray, frame_index: np.ndarray, markers: np.ndarray, names: list[str], units: str,
    angles: dict[str, np.ndarray],
) -> Path:  # fmt: skip
    """Columns: frame, time_s, then `<landmark>_x_<unit>` (y, z) for each landmark, then
    `<angle>_deg`; an empty cell where a value is missing."""
    nd = 4 if units == "m" else 1
    header = ["frame", "time_s"]
    header += [f"{name}_{axis}_{units}" for name in names for axis in "xyz"]
    header += [f"{a}_deg" for a in angles]
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(len(t_s)):
            w.writerow(
                [int(frame_index[i]), f"{t_s[i]:.4f}"]
                + [_cell(v, nd) for v in markers[i].ravel()]
                + [_cell(angles[a][i], 2) for a in angles]
            )
    return Path(path)
