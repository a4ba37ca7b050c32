"""OpenSim's marker file (.trc, PathFileType 4): a five-line header, then one row per frame.

Laid out as Pose2Sim and Sports2D write theirs (tab-separated, Frame# from 1, X/Y/Z per marker);
a missing marker is an empty field, which OpenSim's TRCFileAdapter reads as NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.6f}"


def write_trc(
    path: Path, t_s: np.ndarray, markers: np.ndarray, names: list[str], rate_hz: float, units: str, file_name: str | None = None
) -> Path:
    """Markers (N frames, M markers, 3) at times t_s (seconds) into `path`; `file_name` is the
    name the header gives (default: the path's)."""
    n, m = markers.shape[:2]
    if len(names) != m or len(t_s) != n:
        raise ValueError("one name per marker and one time per frame are needed")
    rate = f"{rate_hz:.6g}"
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name or Path(path).name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{n}\t{m}\t{units}\t{rate}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{name}\t\t" for name in names),
        "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, m + 1)),
    ]
    for i in range(n):
        lines.append(f"{i + 1}\t{t_s[i]:.6f}\t" + "\t".join(_num(v) for v in markers[i].ravel()))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)
