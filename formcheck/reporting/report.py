"""report.html: one self-contained page (inline SVG plots, no network) a person can read.

Plots are drawn with matplotlib's Agg/SVG backend, so nothing needs a display.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from formcheck.core.landmarks import SIDES
from formcheck.judging.verdict import Measure
from formcheck.pipeline.session import FrameRows, SessionResult

LEFT_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#d62728"

_env = Environment(loader=PackageLoader("formcheck", "templates"), autoescape=select_autoescape(["html", "j2"]))


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


# Past this many reps, rep numbers over the plot and a bar per rep are too narrow to read, and
# each costs a matplotlib artist (about 36 kB of memory a rep, measured): long sessions get the
# shading alone and a line per leg instead.
MAX_LABELLED_REPS = 60


def _shade_reps(ax: plt.Axes, summary: dict[str, Any], numbers: bool) -> None:
    """One collection per colour (not an artist per rep): a long session stays cheap to draw."""
    spans: dict[str, list[tuple[float, float]]] = {"#f4c7c3": [], "#e6e6e6": []}
    numbers = numbers and len(summary["reps"]) <= MAX_LABELLED_REPS
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


class MinMaxEnvelope:
    """At most `max_points` samples of a series that keep each bucket's lowest and highest value,
    fed chunk by chunk (`add`) so that a long session's series is never held whole.

    Long sessions are drawn from this: every peak (a valgus spike of one frame included) stays
    on the plot, and gaps (NaN) stay gaps.
    """

    def __init__(self, n: int, max_points: int = MAX_PLOT_POINTS) -> None:
        self.n = n
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []  # short series: kept as they are
        self._whole = n <= max_points
        buckets = max(max_points // 2, 1)
        self._edges = np.linspace(0, n, buckets + 1).astype(int)
        self._lo = np.full((buckets, 3), [np.inf, np.nan, -1])  # value, t, index of each bucket's minimum
        self._hi = np.full((buckets, 3), [-np.inf, np.nan, -1])
        self._first_t = np.full(buckets, np.nan)  # where an all-missing bucket breaks the line

    def add(self, start: int, t: np.ndarray, y: np.ndarray) -> None:
        """Samples [start, start + len(t)) of the series, in order."""
        if self._whole:
            self._parts.append((np.array(t, dtype=float), np.array(y, dtype=float)))
            return
        stop = start + len(t)
        edges = self._edges
        for b in range(max(np.searchsorted(edges, start, "right") - 1, 0), min(np.searchsorted(edges, stop - 1, "right"), len(edges) - 1)):
            a, e = max(edges[b], start), min(edges[b + 1], stop)
            if a >= e:
                continue
            if a == edges[b]:
                self._first_t[b] = t[a - start]
            part = y[a - start : e - start]
            finite = np.isfinite(part)
            if not finite.any():
                continue
            j, k = int(np.argmin(np.where(finite, part, np.inf))), int(np.argmax(np.where(finite, part, -np.inf)))
            if part[j] < self._lo[b, 0]:  # strictly: the earliest of equal values stays
                self._lo[b] = (part[j], t[a - start + j], a + j)
            if part[k] > self._hi[b, 0]:
                self._hi[b] = (part[k], t[a - start + k], a + k)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self._whole:
            if not self._parts:
                return np.zeros(0), np.zeros(0)
            return np.concatenate([p[0] for p in self._parts]), np.concatenate([p[1] for p in self._parts])
        ts: list[float] = []
        ys: list[float] = []
        for b in range(len(self._lo)):
            if self._lo[b, 2] < 0:  # no finite sample: a NaN, the line breaks here as in the data
                ts.append(self._first_t[b])
                ys.append(np.nan)
                continue
            points = {int(self._lo[b, 2]): tuple(self._lo[b, :2]), int(self._hi[b, 2]): tuple(self._hi[b, :2])}
            for i in sorted(points):
                value, when = points[i]
                ts.append(when)
                ys.append(value)
        return np.asarray(ts), np.asarray(ys)


def min_max_envelope(t: np.ndarray, y: np.ndarray, max_points: int = MAX_PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """`MinMaxEnvelope` of a whole series at once."""
    env = MinMaxEnvelope(len(t), max_points)
    env.add(0, t, y)
    return env.result()


def knee_toe_judged_by_change(summary: dict[str, Any]) -> bool:
    """Whether any rep's verdict judged a knee by its knee-to-toe change from standing."""
    return any(v["measure"] == Measure.KNEE_TOE_CHANGE.value for r in summary["reps"] for v in r["verdict"].values())


def plotted(rows: FrameRows, knee_toe_by_change: bool) -> dict[str, np.ndarray]:
    """The columns the report plots: each measure only where it is read (FPPA where usable,
    knee-to-toe in the loaded half of reps), so a plot never shows a number the flags ignore."""
    cols = {}
    for side in SIDES:
        leg = rows.metrics.leg(side)
        toe = rows.knee_toe_change[side] if knee_toe_by_change else leg.knee_toe
        cols[f"fppa_{side.value}_deg"] = np.where(rows.usable[side], leg.fppa_deg, np.nan)
        cols[f"knee_toe_{side.value}"] = np.where(rows.loaded, toe, np.nan)
        cols[f"knee_flexion_{side.value}_deg"] = leg.flexion_deg
    return cols


def time_series_svg(result: SessionResult, summary: dict[str, Any]) -> str:
    th = summary["thresholds"]
    by_change = knee_toe_judged_by_change(summary)
    if by_change:
        knee_toe = ("knee_toe", "knee-to-toe change from\nstanding (+ = toward midline,\nloaded half of reps)", th["valgus_knee_toe_change"])
    else:
        knee_toe = ("knee_toe", "knee-to-toe offset\n(+ = inside toes, loaded half of reps)", th["valgus_knee_toe"])
    panels = (
        ("fppa", "FPPA (deg, + = valgus)", th["valgus_fppa_deg"]),
        knee_toe,
        ("knee_flexion", "knee flexion (deg)", None),
    )

    def column(key: str, side: str) -> str:
        return f"{key}_{side}" + ("" if key == "knee_toe" else "_deg")

    envelopes = {column(key, s.value): MinMaxEnvelope(result.frame_count) for key, _, _ in panels for s in SIDES}
    for rows in result.rows():
        for name, values in plotted(rows, by_change).items():
            envelopes[name].add(rows.lo, rows.metrics.t_s, values)
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for ax, (key, label, limit) in zip(axes, panels):
        _shade_reps(ax, summary, numbers=ax is axes[0])
        ax.plot(*envelopes[column(key, "left")].result(), color=LEFT_COLOUR, lw=1.3, label="left knee")
        ax.plot(*envelopes[column(key, "right")].result(), color=RIGHT_COLOUR, lw=1.3, label="right knee")
        if limit is not None:
            ax.axhline(limit, color="black", ls="--", lw=0.8, label="valgus threshold")
        ax.axhline(0, color="#999", lw=0.5)
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8, ncol=3)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("Knee measures over time (shaded: reps, red = valgus flagged)", fontsize=10)
    return _svg(fig)


def per_rep_svg(summary: dict[str, Any]) -> str | None:
    """Each rep's deciding value per leg, on the measure most reps were judged by (reps judged
    by another measure are left blank), against its limit."""
    reps = summary["reps"]
    measures = [v["measure"] for r in reps for v in r["verdict"].values()]
    if not measures:
        return None
    measure = Measure(max(set(measures), key=measures.count))
    limit = next(v["limit"] for r in reps for v in r["verdict"].values() if v["measure"] == measure.value)
    unit = f"peak {measure.label}" + (f" ({measure.unit})" if measure.unit == "deg" else "")
    numbers = np.array([r["index"] for r in reps])
    fig, ax = plt.subplots(figsize=(9, 3))
    bars = len(reps) <= MAX_LABELLED_REPS
    for offset, leg, colour in ((-0.2, "left", LEFT_COLOUR), (0.2, "right", RIGHT_COLOUR)):
        verdicts = [r["verdict"].get(leg) for r in reps]
        vals = [v["value"] if v and v["measure"] == measure.value and v["value"] is not None else np.nan for v in verdicts]
        if bars:
            ax.bar(numbers + offset, vals, width=0.4, color=colour, label=f"{leg} knee")
        else:
            ax.plot(numbers, vals, color=colour, lw=1.0, marker=".", ms=3, label=f"{leg} knee")
    if bars:
        ax.set_xticks(numbers, [str(i) for i in numbers])
    ax.axhline(limit, color="black", ls="--", lw=0.8, label="threshold")
    ax.axhline(0, color="#999", lw=0.5)
    ax.set_xlabel("rep")
    ax.set_ylabel(unit)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _svg(fig)


def render_report(result: SessionResult, summary: dict[str, Any]) -> str:
    flagged = [r for r in summary["reps"] if any(v for v in r["valgus"].values())]
    by_change = knee_toe_judged_by_change(summary)
    return _env.get_template("report.html.j2").render(
        s=summary,
        flagged=flagged,
        knee_toe_by_change=by_change,
        measure_labels={m.value: m.label for m in Measure},
        series_svg=time_series_svg(result, summary),
        reps_svg=per_rep_svg(summary),
        video_name=Path(summary["source"]["path"]).name,
    )


def write_report(path: Path, result: SessionResult, summary: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(result, summary), encoding="utf-8")
    os.replace(tmp, path)
