"""OpenSim's motion/storage file (.mot, version 1): joint angles over time, in degrees."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_mot(path: Path, t_s: np.ndarray, columns: dict[str, np.ndarray], name: str = "Coordinates") -> Path:
    """`columns` (name -> one value a frame, degrees) beside `time`; a missing value is NaN,
    which OpenSim's STOFileAdapter reads back as NaN."""
    names = list(columns)
    if any(len(columns[c]) != len(t_s) for c in names):
        raise ValueError("every column needs one value a frame")
    lines = [
        name,
        "version=1",
        f"nRows={len(t_s)}",
        f"nColumns={len(names) + 1}",
        "inDegrees=yes",
        "endheader",
        "\t".join(["time", *names]),
    ]
    data = np.column_stack([np.asarray(t_s, float)] + [np.asarray(columns[c], float) for c in names])
    for row in data:
        lines.append("\t".join("NaN" if not np.isfinite(v) else f"{v:.6f}" for v in row))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)
