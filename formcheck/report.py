"""report.html: one self-contained page (inline SVG plots, no network) a person can read.

Plots are drawn with matplotlib's Agg/SVG backend, so nothing needs a display.
"""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from formcheck.landmarks import SIDES
from formcheck.outputs import per_frame_arrays
from formcheck.scoring import knee_toe_change
from formcheck.session import SessionResult

LEFT_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#d62728"

_env = Environment(loader=PackageLoader("formcheck", "templates"), autoescape=select_autoescape(["html"]))


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _shade_reps(ax: plt.Axes, summary: dict[str, Any], numbers: bool) -> None:
    """One collection per colour (not an artist per rep): a long session stays cheap to draw."""
    spans: dict[str, list[tuple[float, float]]] = {"#f4c7c3": [], "#e6e6e6": []}
    for rep in summary["reps"]:
        colour = "#f4c7c3" if any(rep["valgus"].get(k) for k in rep["valgus"]) else "#e6e6e6"
        spans[colour].append((rep["start_s"], rep["end_s"] - rep["start_s"]))
        if numbers:
            ax.text((rep["start_s"] + rep["end_s"]) / 2, 1.0, str(rep["index"]), transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=8)
    for colour, xranges in spans.items():
        if xranges:
            ax.broken_barh(xranges, (0, 1), transform=ax.get_xaxis_transform(), color=colour, alpha=0.6, lw=0)


# A plot is about 900 px wide: more points than this per line add bytes and memory, not detail.
MAX_PLOT_POINTS = 2000


def min_max_envelope(t: np.ndarray, y: np.ndarray, max_points: int = MAX_PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` samples of a series that keep each bucket's lowest and highest value.

    Long sessions are drawn from this: every peak (a valgus spike of one frame included) stays
    on the plot, and gaps (NaN) stay gaps.
    """
    n = len(t)
    if n <= max_points:
        return t, y
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep: list[int] = []
    for lo, hi in itertools.pairwise(edges):
        part = y[lo:hi]
        finite = np.isfinite(part)
        if not finite.any():
            keep.append(lo)  # a NaN: the line breaks here as it does in the data
            continue
        filled_lo = np.where(finite, part, np.inf)
        filled_hi = np.where(finite, part, -np.inf)
        keep.extend(sorted({lo + int(np.argmin(filled_lo)), lo + int(np.argmax(filled_hi))}))
    idx = np.asarray(keep)
    return t[idx], y[idx]


def knee_toe_judged_by_change(result: SessionResult, summary: dict[str, Any]) -> bool:
    """Whether deep reps were judged by the knee-to-toe change from standing (else the absolute offset)."""
    standing_known = any(result.baseline.shank_px.get(side) for side in SIDES)
    return bool(summary["thresholds"].get("knee_toe_from_standing")) and standing_known


def time_series_svg(result: SessionResult, summary: dict[str, Any]) -> str:
    cols = per_frame_arrays(result)
    th = summary["thresholds"]
    if knee_toe_judged_by_change(result, summary):
        for side in SIDES:
            change = knee_toe_change(result.metrics, side, result.baseline)
            cols[f"knee_toe_{side.value}"] = np.where(result.loaded, change, np.nan)
        knee_toe = ("knee_toe", "knee-to-toe change from\nstanding (+ = toward midline,\nloaded half of reps)", th["valgus_knee_toe_change"])
    else:
        knee_toe = ("knee_toe", "knee-to-toe offset\n(+ = inside toes, loaded half of reps)", th["valgus_knee_toe"])
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    t = cols["t_s"]
    panels = (
        ("fppa", "FPPA (deg, + = valgus)", th["valgus_fppa_deg"]),
        knee_toe,
        ("knee_flexion", "knee flexion (deg)", None),
    )
    for ax, (key, label, limit) in zip(axes, panels):
        suffix = "_deg" if key != "knee_toe" else ""
        _shade_reps(ax, summary, numbers=ax is axes[0])
        ax.plot(*min_max_envelope(t, cols[f"{key}_left{suffix}"]), color=LEFT_COLOUR, lw=1.3, label="left knee")
        ax.plot(*min_max_envelope(t, cols[f"{key}_right{suffix}"]), color=RIGHT_COLOUR, lw=1.3, label="right knee")
        if limit is not None:
            ax.axhline(limit, color="black", ls="--", lw=0.8, label="valgus threshold")
        ax.axhline(0, color="#999", lw=0.5)
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8, ncol=3)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("Knee measures over time (shaded: reps, red = valgus flagged)", fontsize=10)
    return _svg(fig)


def per_rep_svg(summary: dict[str, Any], by_change: bool = False) -> str | None:
    reps = summary["reps"]
    if not reps:
        return None
    basis = next((r["valgus_basis"] for r in reps if r["valgus_basis"]), "fppa")
    th = summary["thresholds"]
    knee_toe = (
        ("peak_knee_toe_change", "peak knee-to-toe change\nfrom standing", th["valgus_knee_toe_change"])
        if by_change
        else ("peak_knee_toe_offset", "peak knee-to-toe offset", th["valgus_knee_toe"])
    )
    key, unit, limit = {
        "fppa": ("peak_fppa_deg", "peak FPPA (deg)", th["valgus_fppa_deg"]),
        "knee_toe": knee_toe,
        "shank": ("peak_shank_deg", "peak shank angle (deg)", th["valgus_shank_deg"]),
    }[basis]
    idx = np.arange(len(reps))
    fig, ax = plt.subplots(figsize=(9, 3))
    for offset, leg, colour in ((-0.2, "left", LEFT_COLOUR), (0.2, "right", RIGHT_COLOUR)):
        vals = [r[key].get(leg) if r[key].get(leg) is not None else np.nan for r in reps]
        ax.bar(idx + offset, vals, width=0.4, color=colour, label=f"{leg} knee")
    ax.axhline(limit, color="black", ls="--", lw=0.8, label="threshold")
    ax.axhline(0, color="#999", lw=0.5)
    ax.set_xticks(idx, [str(r["index"]) for r in reps])
    ax.set_xlabel("rep")
    ax.set_ylabel(unit)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _svg(fig)


def render_report(result: SessionResult, summary: dict[str, Any]) -> str:
    flagged = [r for r in summary["reps"] if any(v for v in r["valgus"].values())]
    by_change = knee_toe_judged_by_change(result, summary)
    return _env.get_template("report.html.j2").render(
        s=summary,
        flagged=flagged,
        knee_toe_by_change=by_change,
        series_svg=time_series_svg(result, summary),
        reps_svg=per_rep_svg(summary, by_change),
        video_name=Path(summary["source"]["path"]).name,
    )


def write_report(path: Path, result: SessionResult, summary: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(result, summary), encoding="utf-8")
    os.replace(tmp, path)
