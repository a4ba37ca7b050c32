"""Therapist reports over a patient's sessions: trend, asymmetry, adherence, pain, flagged reps.

`build_report(store, patient_id, since=)` computes everything once (`PatientReport`, from
`formcheck.clinic.therapist_stats`, with stills from `formcheck.clinic.therapist_stills`); this module renders
it. The HTML page and the PDF come from one Jinja template (the PDF is that page printed by
WeasyPrint with the template's print CSS), so they never disagree; the dashboard embeds the same
page body; the CSV holds the numbers behind the trend chart. Nothing here touches the network.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402

from formcheck.errors import InputError  # noqa: E402
from formcheck.clinic.store import Store  # noqa: E402
from formcheck.clinic.therapist_stats import (  # noqa: E402, F401  (re-exported: the report's public names)
    FPPA_SEM_DEG,
    MEASURES,
    ROM_SDD_DEG,
    SDD_DEG,
    SDD_KNEE_TOE,
    Adherence,
    Asymmetry,
    TRUNK_TURN_NOTE,
    BalancePoint,
    FlaggedRep,
    HoldGroup,
    LandingPoint,
    LandingTrend,
    PatientReport,
    PlantPoint,
    RomTrend,
    SlidesPoint,
    StepsPoint,
    Trend,
    TrendPoint,
    compute_report,
    judge_change,
    judge_rom_change,
    landing_columns,
    measure_value,
    plain,
    plant_columns,
    rom_columns,
    share_text,
    signed,
    traffic_light,
    trend_columns,
    when,
)
from formcheck.clinic.therapist_stills import attach_stills, blur_region, face_box, make_still, read_frame, worst_row  # noqa: E402, F401

LEFT_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#d62728"
# Charts are drawn at the width they print at (A4 less the template's 15 mm margins, 180 mm), so
# their text prints at its point size; the browser scales them down to fit the page.
CHART_WIDTH_IN = 7.0

_env = Environment(loader=PackageLoader("formcheck", "templates"), autoescape=select_autoescape(["html", "j2"]))
_env.filters["signed"] = signed
_env.filters["measure_value"] = measure_value
_env.filters["plain"] = plain
_env.globals["share_text"] = share_text


def build_report(
    store: Store,
    patient_id: str,
    since: str | date | None = None,
    as_of: datetime | None = None,
    *,
    stills: bool = False,
    blur: bool = True,
    model_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PatientReport:
    """Everything the report shows, computed once. `stills=True` extracts the worst frame of
    each shown flagged rep (needs the session's video; faces are blurred unless `blur=False`),
    calling `progress(done, total)` after each."""
    report = compute_report(store, patient_id, since, as_of)
    if stills and report.flagged:
        attach_stills(store, report.flagged, blur=blur, model_path=model_path, progress=progress)
    return report


# -- figures -------------------------------------------------------------------------------
def trend_figure(report: PatientReport, exercise: str, size: tuple[float, float] = (CHART_WIDTH_IN, 3.0)) -> plt.Figure | None:
    """Per-leg session values with the +/- SEM band (angles), worst rep as a dot, threshold line."""
    trends = [t for t in report.trends if t.exercise == exercise]
    if not trends:
        return None
    fig, ax = plt.subplots(figsize=size)
    info = trends[0].info
    for t in trends:
        colour = LEFT_COLOUR if t.leg == "left" else RIGHT_COLOUR
        x = [p.when for p in t.points]
        y = np.array([p.value for p in t.points])
        ax.plot(x, y, "o-", color=colour, lw=1.6, label=f"{t.leg} knee (median rep)")
        if info["sem"] is not None:
            ax.errorbar(x, y, yerr=info["sem"], fmt="none", ecolor=colour, capsize=4, lw=1, alpha=0.8)
        ax.plot(x, [p.worst for p in t.points], "^", color=colour, alpha=0.5, ms=6, label=f"{t.leg} worst rep")
    ax.axhline(report.limit_of(exercise, info["threshold"]), color="black", ls="--", lw=0.8, label="threshold")
    ax.axhline(0, color="#999", lw=0.5)
    ax.set_ylabel(f"{info['unit']}\n(+ = valgus)", fontsize=8)  # the title names the measure
    title = f"{exercise}: {info['label']} per session"
    if info["sem"] is not None:
        title += f" (bars: \u00b1{info['sem']:.0f} {info['unit']})"
    ax.set_title(title, fontsize=9)
    _date_axis(ax, [p.when for t in trends for p in t.points])
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)  # off the data
    return fig


def rom_figure(report: PatientReport, size: tuple[float, float] = (CHART_WIDTH_IN, 3.0)) -> plt.Figure | None:
    """Knee range of motion per session and leg: the best max flexion (solid) and fullest
    extension (dashed), degrees of knee flexion, with a bar the size of the smallest real change."""
    if not report.rom:
        return None
    fig, ax = plt.subplots(figsize=size)
    for t in report.rom:
        colour = LEFT_COLOUR if t.leg == "left" else RIGHT_COLOUR
        style, what = ("o-", "max flexion") if t.measure == "max_flexion" else ("s--", "fullest extension")
        ax.plot([p.when for p in t.points], [p.value for p in t.points], style, color=colour, lw=1.6, label=f"{t.leg} {what}")
    ax.axhline(0, color="#999", lw=0.5)
    ax.set_ylabel("knee flexion (deg)\n(0 = straight)", fontsize=8)
    ax.set_title(f"Knee range of motion per session (best rep; a change under {ROM_SDD_DEG:g} deg is not real)", fontsize=9)
    _date_axis(ax, [p.when for t in report.rom for p in t.points])
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)  # off the data
    return fig


def landing_figures(report: PatientReport, size: tuple[float, float] = (CHART_WIDTH_IN, 2.6)) -> list[plt.Figure]:
    """Hop landings per session and leg: the median landing-window FPPA peak with the +/- SEM bar
    and the worst landing, against the landing limit; then the share of landings flagged."""
    return _window_figures(report.landings, report.landing_limit, "hop", "landing", "landing limit", size)


def plant_figures(report: PatientReport, size: tuple[float, float] = (CHART_WIDTH_IN, 2.6)) -> list[plt.Figure]:
    """Pivot plants per session and planted leg: the median plant-window FPPA peak with the +/- SEM
    bar and the worst plant, against the limit; then the share of plants flagged."""
    return _window_figures(report.plants, report.plant_limit, "pivot", "plant", "limit", size)


def _window_figures(
    trends: list[LandingTrend], limit: float, exercise: str, what: str, limit_label: str, size: tuple[float, float]
) -> list[plt.Figure]:
    if not trends:
        return []
    info = MEASURES["fppa"]
    dates = [p.when for t in trends for p in t.points]
    fig, ax = plt.subplots(figsize=size)
    for t in trends:
        colour = LEFT_COLOUR if t.leg == "left" else RIGHT_COLOUR
        pts = [p for p in t.points if p.value is not None]
        x, y = [p.when for p in pts], np.array([p.value for p in pts])
        ax.plot(x, y, "o-", color=colour, lw=1.6, label=f"{t.leg} knee (median {what})")
        ax.errorbar(x, y, yerr=info["sem"], fmt="none", ecolor=colour, capsize=4, lw=1, alpha=0.8)
        ax.plot(x, [p.worst for p in pts], "^", color=colour, alpha=0.5, ms=6, label=f"{t.leg} worst {what}")
    ax.axhline(limit, color="black", ls="--", lw=0.8, label=limit_label)
    ax.axhline(0, color="#999", lw=0.5)
    ax.set_ylabel("deg\n(+ = valgus)", fontsize=8)
    ax.set_title(f"{exercise}: FPPA peak in the {what} window per session (bars: \u00b1{info['sem']:.0f} deg)", fontsize=9)
    _date_axis(ax, dates)
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    share, ax2 = plt.subplots(figsize=size)
    for t in trends:
        pts = [p for p in t.points if p.share is not None]
        ax2.plot([p.when for p in pts], [100.0 * p.share for p in pts], "o-", color=LEFT_COLOUR if t.leg == "left" else RIGHT_COLOUR,  # type: ignore[operator]
                 lw=1.6, label=f"{t.leg} knee")  # fmt: skip
    _share_axis(ax2, f"{exercise}: {what}s flagged per session", dates)
    return [fig, share]


def slides_figures(report: PatientReport, size: tuple[float, float] = (CHART_WIDTH_IN, 2.6)) -> list[plt.Figure]:
    """Adduction slides per session and bent leg: the median slide range with the best slide; then
    the share of slides whose bent knee caved."""
    if not report.slides:
        return []
    dates = [p.when for p in report.slides]
    rng, ax = plt.subplots(figsize=size)
    share, ax2 = plt.subplots(figsize=size)
    for leg in ("left", "right"):
        colour = LEFT_COLOUR if leg == "left" else RIGHT_COLOUR
        mine = [p for p in report.slides if p.median_range.get(leg) is not None]
        if mine:
            x = [p.when for p in mine]
            ax.plot(x, [p.median_range[leg] for p in mine], "o-", color=colour, lw=1.6, label=f"{leg} knee bent: median slide")
            ax.plot(x, [p.best_range[leg] for p in mine], "^", color=colour, alpha=0.5, ms=6, label=f"{leg} knee bent: best slide")
        judged = [p for p in report.slides if p.share(leg) is not None]
        if judged:
            ax2.plot([p.when for p in judged], [100.0 * p.share(leg) for p in judged], "o-", color=colour, lw=1.6,  # type: ignore[operator]
                     label=f"{leg} knee bent, caving")  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.set_ylabel("straight-leg lengths", fontsize=8)
    ax.set_title("adduction-slide: how far the straight leg's foot slid in, per session", fontsize=9)
    _date_axis(ax, dates)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    _share_axis(ax2, "adduction-slide: slides with the bent knee caving, per session", dates)
    return [rng, share]


# One colour per balance progression, in `PatientReport.progressions` order; combinations take the rest.
PROGRESSION_COLOURS = {"flat": "#8c8c8c", "tiptoes": "#2a9d5c", "head-turns": "#9467bd", "reaches": "#ff7f0e", None: "#d9d9d9"}
_MORE_COLOURS = ("#17becf", "#bcbd22", "#8c564b", "#e377c2")


def progression_label(name: str | None) -> str:
    """`tiptoes + head-turns`; holds without a name: `not named (older analysis)`."""
    return "not named (older analysis)" if name is None else name.replace("+", " + ")


def progression_colours(report: PatientReport) -> dict[str | None, str]:
    more = iter(_MORE_COLOURS * 4)
    return {name: PROGRESSION_COLOURS.get(name) or next(more) for name in report.progressions}


def balance_figures(report: PatientReport, size: tuple[float, float] = (CHART_WIDTH_IN, 2.6)) -> list[plt.Figure]:
    """Balance sessions: seconds held per session stacked by progression (flat at the bottom), then
    each progression's median sway per session."""
    if not report.balance:
        return []
    dates = [p.when for p in report.balance]
    colours = progression_colours(report)
    gaps = [(b - a).total_seconds() / 86400 for a, b in zip(sorted(dates), sorted(dates)[1:]) if b > a]
    width = min(3.0, 0.6 * min(gaps, default=5.0))  # days: bars a week apart are 3 days wide
    held, ax = plt.subplots(figsize=size)
    bottom = np.zeros(len(report.balance))
    for name in report.progressions:
        secs = np.array([p.progressions[name].seconds if name in p.progressions else 0.0 for p in report.balance])
        ax.bar(dates, secs, width=width, bottom=bottom, color=colours[name], edgecolor="white", lw=0.5, label=progression_label(name))
        bottom += secs
    ncol = min(6, len(report.progressions))  # one row while it fits: flat, tiptoes, ... read left to right
    ax.set_ylabel("seconds held", fontsize=8)
    ax.set_title("balance: seconds held per session, by progression", fontsize=9)
    _date_axis(ax, dates)
    ax.legend(fontsize=7, ncol=ncol, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    sway, ax2 = plt.subplots(figsize=size)
    for name in report.progressions:
        mine = [p for p in report.balance if name in p.progressions and p.progressions[name].sway is not None]
        if mine:
            ax2.plot([p.when for p in mine], [p.progressions[name].sway for p in mine], "o-", color=colours[name], lw=1.6,
                     label=progression_label(name))  # fmt: skip
    ax2.set_ylim(bottom=0)
    ax2.set_ylabel("body lengths (RMS)", fontsize=8)
    ax2.set_title("balance: median sway of the pelvis per session, by progression (lower = steadier)", fontsize=9)
    _date_axis(ax2, dates)
    ax2.legend(fontsize=7, ncol=ncol, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return [held, sway]


def steps_figures(report: PatientReport, exercise: str, size: tuple[float, float] = (CHART_WIDTH_IN, 2.6)) -> list[plt.Figure]:
    """Sideways steps per session: the share of push-offs caving per leg and (band-walk) of steps
    with the feet too close; then (band-walk) the median and narrowest feet against the limit."""
    pts = [p for p in report.steps if p.exercise == exercise]
    if not pts:
        return []
    dates = [p.when for p in pts]
    fig, ax = plt.subplots(figsize=size)
    for leg in ("left", "right"):
        mine = [p for p in pts if p.share(leg) is not None]
        if mine:
            ax.plot([p.when for p in mine], [100.0 * p.share(leg) for p in mine], "o-",  # type: ignore[operator]
                    color=LEFT_COLOUR if leg == "left" else RIGHT_COLOUR, lw=1.6, label=f"{leg} push-offs caving")  # fmt: skip
    close = [p for p in pts if p.too_close_share is not None]
    if close:
        ax.plot([p.when for p in close], [100.0 * p.too_close_share for p in close], "s--", color="#555", lw=1.4,  # type: ignore[operator]
                label="steps with the feet too close")  # fmt: skip
    _share_axis(ax, f"{exercise}: push-offs caving{' and feet too close' if close else ''} per session", dates)
    figs = [fig]
    seps = [p for p in pts if p.median_separation is not None]
    if seps:
        sep, ax2 = plt.subplots(figsize=size)
        x = [p.when for p in seps]
        ax2.plot(x, [p.median_separation for p in seps], "o-", color="#2a7", lw=1.6, label="median step")
        ax2.plot(x, [p.narrowest for p in seps], "v", color="#2a7", alpha=0.6, ms=6, label="narrowest step")
        ax2.plot(x, [p.limit for p in seps], "--", color="black", lw=0.8, label="limit (band slack below)")
        ax2.set_ylim(bottom=0)
        ax2.set_ylabel("standing hip widths", fontsize=8)
        ax2.set_title(f"{exercise}: narrowest feet per step, per session", fontsize=9)
        _date_axis(ax2, x)
        ax2.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
        figs.append(sep)
    return figs


def _share_axis(ax: plt.Axes, title: str, dates: list[datetime]) -> None:
    ax.set_ylim(-5, 105)
    ax.set_ylabel("% of the session", fontsize=8)
    ax.set_title(title, fontsize=9)
    _date_axis(ax, dates)
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)


def pain_figure(report: PatientReport, size: tuple[float, float] = (CHART_WIDTH_IN, 2.3)) -> plt.Figure | None:
    rows = [s for s in report.sessions if s["pain_before"] is not None or s["pain_after"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=size)
    x = [when(s["recorded_at"]) for s in rows]
    for key, style, label in (("pain_before", "o--", "before"), ("pain_after", "s-", "after")):
        ax.plot(x, [np.nan if s[key] is None else s[key] for s in rows], style, label=f"pain {label} session")
    ax.set_ylim(-0.5, 10.5)
    ax.set_ylabel("pain (0-10)", fontsize=8)
    ax.set_title("Pain rating per session", fontsize=9)
    _date_axis(ax, x)
    ax.legend(fontsize=7)
    return fig


def _date_axis(ax: plt.Axes, dates: list[datetime]) -> None:
    """A tick on each session's date while they fit, else evenly spaced dates."""
    days = sorted({d.date() for d in dates})
    if len(days) <= 8:
        ax.set_xticks([datetime.combine(d, datetime.min.time()) for d in days])
    else:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def figure_svg(fig: plt.Figure | None, prefix: str = "chart") -> str | None:
    """The figure as inline SVG, its box grown to hold every label (`bbox_inches="tight"`), styled
    by presentation attributes, not `style`: the dashboard's Content-Security-Policy allows no
    inline styles, and these attributes are not styles. Its ids (matplotlib numbers them afresh
    in every figure) get `prefix`, so two charts on one page do not share ids."""
    if fig is None:
        return None
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    root = " ".join(_attrs(rule) for rule in re.findall(r"<style[^>]*>\s*\*\s*\{([^}]*)\}\s*</style>", text))
    text = re.sub(r"<style[^>]*>.*?</style>", "", text, flags=re.S)
    text = re.sub(r' style="([^"]*)"', lambda m: " " + _attrs(m.group(1)), text)
    text = re.sub(r'(\bid="|href="#|url\(#)', rf"\g<1>{prefix}-", text)
    return text.replace("<svg ", f"<svg {root} ", 1) if root else text


def _attrs(declarations: str) -> str:
    """CSS declarations `fill: #fff; stroke-width: 0.8` as attributes `fill="#fff" stroke-width="0.8"`."""
    pairs = (d.split(":", 1) for d in declarations.split(";") if ":" in d)
    return " ".join(f'{k.strip()}="{html.escape(v.strip())}"' for k, v in pairs)


# -- writers -------------------------------------------------------------------------------
def render_html(report: PatientReport, *, standalone: bool = True) -> str:
    """The report page (also the PDF's source); `standalone=False` gives the body fragment the
    dashboard embeds."""
    return _env.get_template("therapist_report.html.j2").render(
        r=report,
        standalone=standalone,
        measures=MEASURES,
        trend_columns={ex: trend_columns(report, ex) for ex in report.valgus_exercises},
        trend_svgs={ex: figure_svg(trend_figure(report, ex), f"trend{i}") for i, ex in enumerate(report.valgus_exercises)},
        pain_svg=figure_svg(pain_figure(report), "pain"),
        rom_svg=figure_svg(rom_figure(report), "rom"),
        rom_columns=rom_columns(report),
        landing_svgs=[figure_svg(f, f"landing{i}") for i, f in enumerate(landing_figures(report))],
        landing_columns=landing_columns(report),
        plant_svgs=[figure_svg(f, f"plant{i}") for i, f in enumerate(plant_figures(report))],
        plant_columns=plant_columns(report),
        slides_svgs=[figure_svg(f, f"slides{i}") for i, f in enumerate(slides_figures(report))],
        balance_svgs=[figure_svg(f, f"balance{i}") for i, f in enumerate(balance_figures(report))],
        progression_label=progression_label,
        trunk_turn_note=TRUNK_TURN_NOTE,
        steps_svgs={ex: [figure_svg(f, f"steps{i}-{j}") for j, f in enumerate(steps_figures(report, ex))]
                    for i, ex in enumerate(report.step_exercises)},
    )  # fmt: skip


CSV_COLUMNS = [
    "date", "session_id", "exercise", "leg", "measure", "unit", "reps_measured", "median_peak", "worst_peak",
    "rep_sd", "sem", "smallest_real_change", "change_from_first", "verdict", "flagged_reps", "pain_before",
    "pain_after", "partial", "session_best",
]  # fmt: skip


def write_csv(report: PatientReport, path: Path) -> None:
    """One row per session, exercise and leg: the numbers behind the trend chart; then one per
    session, leg and knee range measure (knee-rom), its value in `session_best` (the session's
    best rep, not a median of peaks: those columns stay empty); then one per hop session and leg
    (measure `landing_fppa`: the landing-window FPPA peaks' median and worst) and one per pivot
    session and planted leg (`plant_fppa`, the plant window's). The sideways steps', slides' and
    balance holds' counts, ranges and shares are not in it."""
    sessions = {s["id"]: s for s in report.sessions}
    with _atomic(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for t in report.trends:
            first = t.points[0].value
            for p in t.points:
                s = sessions[p.session_id]
                w.writerow([
                    p.when.date().isoformat(), p.session_id, t.exercise, t.leg, t.measure, t.info["unit"], p.reps,
                    f"{p.value:.2f}", f"{p.worst:.2f}", f"{p.spread:.2f}", "" if t.info["sem"] is None else t.info["sem"],
                    t.info["sdd"], f"{p.value - first:.2f}",
                    "reference (first session)" if p is t.points[0] else judge_change(p.value - first, t.measure),
                    *_session_cells(s), "",
                ])  # fmt: skip
        for t in report.rom:
            first = t.points[0].value
            for p in t.points:
                s = sessions[p.session_id]
                w.writerow([
                    p.when.date().isoformat(), p.session_id, s["exercise"], t.leg, t.measure, t.info["unit"], p.reps,
                    "", "", "", "", t.info["sdd"], f"{p.value - first:.2f}",
                    "reference (first session)" if p is t.points[0] else judge_rom_change(p.value - first, t.measure),
                    *_session_cells(s), f"{p.value:.2f}",
                ])  # fmt: skip
        for measure, lt in [("landing_fppa", t) for t in report.landings] + [("plant_fppa", t) for t in report.plants]:
            valued = [p for p in lt.points if p.value is not None]
            for p in valued:
                s = sessions[p.session_id]
                w.writerow([
                    p.when.date().isoformat(), p.session_id, s["exercise"], lt.leg, measure, lt.info["unit"],
                    p.measured, f"{p.value:.2f}", f"{p.worst:.2f}", "", lt.info["sem"], lt.info["sdd"],
                    f"{p.value - valued[0].value:.2f}",
                    "reference (first session)" if p is valued[0] else judge_change(p.value - valued[0].value, lt.measure),
                    *_session_cells(s), "",
                ])  # fmt: skip


def _session_cells(s: dict) -> list:
    """The CSV's per-session columns: flagged reps, pain before and after, partial."""
    return [s["flagged_reps"], "" if s["pain_before"] is None else s["pain_before"],
            "" if s["pain_after"] is None else s["pain_after"], s["partial"]]  # fmt: skip


def write_pdf(report: PatientReport, path: Path) -> None:
    """The HTML report printed to A4 by WeasyPrint (the template's print CSS lays out the pages)."""
    from weasyprint import HTML

    document = HTML(string=render_html(report)).render()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        document.write_pdf(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _atomic:
    """Write to a temp file beside `path`, then rename: a failed write leaves no half report."""

    def __init__(self, path: Path, newline: str | None = None) -> None:
        self.path, self.tmp, self.newline = path, path.with_name(f".{path.name}.tmp"), newline

    def __enter__(self) -> io.TextIOBase:
        self.fh = self.tmp.open("w", encoding="utf-8", newline=self.newline)
        return self.fh

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.fh.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_report_file(report: PatientReport, out: Path) -> Path:
    """Write by the file's suffix: .html, .pdf or .csv."""
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf", ".csv"):
        raise InputError(f"cannot write a report as {out.name}: use a .html, .pdf or .csv file name")
    if not out.parent.is_dir():
        raise InputError(f"folder {out.parent} does not exist")
    if suffix == ".pdf":
        write_pdf(report, out)
    elif suffix == ".csv":
        write_csv(report, out)
    else:
        with _atomic(out) as fh:
            fh.write(render_html(report))
    return out
