"""C3D markers through ezc3d (the `export` extra): the motion-capture format most lab software reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_c3d(path: Path, markers: np.ndarray, names: list[str], rate_hz: float, units: str) -> Path:
    """Markers (N frames, M markers, 3) at `rate_hz`; a missing marker is stored as invalid (NaN)."""
    import ezc3d

    n, m = markers.shape[:2]
    if len(names) != m:
        raise ValueError("one name per marker is needed")
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [float(rate_hz)]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = list(names)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = [units]
    points = np.ones((4, m, n))
    points[:3] = np.transpose(markers, (2, 1, 0))
    c3d["data"]["points"] = points
    c3d.add_parameter("POINT", "X_SCREEN", ["+X"])  # X to the right, Y up: see exports/data.py
    c3d.add_parameter("POINT", "Y_SCREEN", ["+Y"])
    c3d.write(str(path))
    return Path(path)
