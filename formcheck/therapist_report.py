"""Therapist reports over a patient's sessions: trend, asymmetry, adherence, pain, flagged reps.

`build_report(store, patient_id, since=)` computes everything once (`PatientReport`); the writers
turn it into a self-contained HTML page, a PDF (matplotlib, no extra dependency) or a CSV, and
the dashboard renders the same object. Nothing here touches the network.

Measurement error (DOMAIN.md): 2D FPPA has a standard error of measurement of about 2-4 degrees
and a smallest detectable difference of about 5-9 (Munro et al. 2012; Gwynne & Curran 2014), so
every session value is drawn with a +/- SEM band and a change under SDD_DEG is never called
progress. The same figures are used for the frontal shank angle (the same kind of 2D angle from
the same landmarks; no published figure of its own). The knee-to-toe offset and its change from
standing have no published error figure, so their changes are shown but not judged.

Each rep and leg is read on the measure its verdict names (`verdict.Verdict`, as the store returns
it: from summary.json, or for sessions from before verdicts were recorded, decided by the same
rule from what their summary kept). Trends and flags use that same measure.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
import math
import os
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402

from formcheck.errors import InputError  # noqa: E402
from formcheck.store import Store, parse_when  # noqa: E402

log = logging.getLogger(__name__)

FPPA_SEM_DEG = 3.0  # standard error of measurement, middle of the published 2-4 degrees
SDD_DEG = 8.0  # smallest change called real (published 5-9 degrees; DOMAIN.md: about 8)
MAX_STILLS = 12  # flagged reps shown with a still (the most valgus first)
ADHERENCE_OK = 0.8
STALE_DAYS = 7  # no session for longer than this: amber
PAIN_HIGH = 7  # pain after a session at or above this: red
PAIN_RISE = 2  # pain after minus before at or above this in the last session: red
LEGS = ("left", "right")
LEFT_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#d62728"

MEASURES: dict[str, dict[str, Any]] = {
    "fppa": {"column": "peak_fppa_{leg}_deg", "label": "peak FPPA", "unit": "deg", "sem": FPPA_SEM_DEG, "sdd": SDD_DEG,
             "threshold": "valgus_fppa_deg"},
    "shank": {"column": "peak_shank_{leg}_deg", "label": "peak shank angle", "unit": "deg", "sem": FPPA_SEM_DEG, "sdd": SDD_DEG,
              "threshold": "valgus_shank_deg"},
    "knee_toe": {"column": "peak_knee_toe_{leg}", "label": "peak knee-to-toe offset", "unit": "shank lengths", "sem": None,
                 "sdd": None, "threshold": "valgus_knee_toe"},
    "knee_toe_change": {"column": "peak_knee_toe_change_{leg}", "label": "peak knee-to-toe change from standing",
                        "unit": "standing shank lengths", "sem": None, "sdd": None, "threshold": "valgus_knee_toe_change"},
}  # fmt: skip
# frames.csv has no per-frame change from standing: for a still, the frame with the knee furthest
# inside the toes (the offset) stands in for it.
FRAME_COLUMN = {"fppa": "fppa_{leg}_deg", "shank": "shank_{leg}_deg", "knee_toe": "knee_toe_{leg}", "knee_toe_change": "knee_toe_{leg}"}

_env = Environment(loader=PackageLoader("formcheck", "templates"), autoescape=select_autoescape(["html", "j2"]))


@dataclass
class TrendPoint:
    session_id: int
    when: datetime
    value: float  # median over the session's reps of each rep's peak
    worst: float  # the most valgus rep
    spread: float  # standard deviation over reps (0 with one rep)
    reps: int


@dataclass
class Trend:
    exercise: str
    leg: str
    measure: str
    points: list[TrendPoint]
    change: float | None = None  # last minus first session value
    verdict: str = ""
    left_out: int = 0  # sessions with reps of this leg but without this measure (older analyses)

    @property
    def info(self) -> dict[str, Any]:
        return MEASURES[self.measure]


@dataclass
class Asymmetry:
    session_id: int
    when: datetime
    exercise: str
    measure: str
    right_minus_left: float
    flagged: bool

    @property
    def info(self) -> dict[str, Any]:
        return MEASURES[self.measure]


@dataclass
class Adherence:
    exercise: str
    prescribed: str
    per_week: int
    sessions_done: int
    sessions_expected: float
    volume_pct: float | None  # mean share of the prescribed reps (or hold time) done per session

    @property
    def pct(self) -> float:
        return 100.0 * min(1.0, self.sessions_done / self.sessions_expected) if self.sessions_expected else 100.0


@dataclass
class FlaggedRep:
    session_id: int
    when: datetime
    exercise: str
    rep_index: int
    leg: str
    basis: str
    value: float | None
    start_s: float | None
    start_frame: int | None = None
    end_frame: int | None = None
    frame: int | None = None
    still_jpeg: bytes | None = None
    still_note: str = ""
    grade: str | None = None  # the verdict's grade: "mild" or "marked"

    @property
    def info(self) -> dict[str, Any]:
        return MEASURES[self.basis]

    @property
    def still_b64(self) -> str | None:
        return base64.b64encode(self.still_jpeg).decode("ascii") if self.still_jpeg else None


@dataclass
class PatientReport:
    patient: dict[str, Any]
    since: datetime | None
    as_of: datetime
    sessions: list[dict[str, Any]]
    prescriptions: list[dict[str, Any]]
    thresholds: dict[str, Any]
    trends: list[Trend]
    asymmetry: list[Asymmetry]
    adherence: list[Adherence]
    flagged: list[FlaggedRep]
    flagged_total: int
    safety_concerns: list[str]
    status: str = "green"
    reasons: list[str] = field(default_factory=list)

    @property
    def exercises(self) -> list[str]:
        return sorted({t.exercise for t in self.trends} | {s["exercise"] for s in self.sessions})


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _legs(rep: dict[str, Any]) -> list[str]:
    return [leg for leg in (rep["legs"] or "").split(",") if leg in LEGS]


def _values(reps: list[dict[str, Any]], measure: str, leg: str) -> list[float]:
    col = MEASURES[measure]["column"].format(leg=leg)
    return [r[col] for r in reps if leg in _legs(r) and r.get(col) is not None]


def _measure_for(reps: list[dict[str, Any]]) -> str:
    """The measure most of the exercise's reps were judged on (FPPA unless the thigh was
    foreshortened), per leg of each rep's verdict."""
    bases = [v.measure.value for r in reps for leg, v in r["verdict"].items() if leg in _legs(r)]
    return statistics.mode(bases) if bases else "fppa"


def judge_change(change: float | None, measure: str) -> str:
    """Words for a change between sessions that never over-claim (SDD rule)."""
    sdd = MEASURES[measure]["sdd"]
    if change is None:
        return "one session only: no trend yet"
    if sdd is None:
        return f"changed by {change:+.2f} {MEASURES[measure]['unit']} (no published error figure: not judged)"
    if abs(change) < sdd:
        return f"no real change ({change:+.1f} deg is within the {sdd:.0f} deg measurement error)"
    return f"{'less' if change < 0 else 'more'} valgus: {change:+.1f} deg ({'improved' if change < 0 else 'worse'})"


def _adherence(rx: dict[str, Any], sessions: list[dict[str, Any]], start: datetime, as_of: datetime) -> Adherence:
    mine = [s for s in sessions if s["exercise"] == rx["exercise"]]
    days = {s["recorded_at"][:10] for s in mine}
    weeks = max(1.0, ((as_of.date() - start.date()).days + 1) / 7.0)
    if rx["reps"] is not None:
        prescribed = f"{rx['sets']} x {rx['reps']} reps"
        target = rx["sets"] * rx["reps"]
        done = [min(1.0, s["rep_count"] / target) for s in mine]
    else:
        prescribed = f"{rx['sets']} x {rx['hold_s']:g} s hold"
        target = rx["sets"] * rx["hold_s"]
        done = [min(1.0, (s.get("hold_total_s") or 0.0) / target) for s in mine]
    return Adherence(
        exercise=rx["exercise"], prescribed=prescribed + (f" ({rx['side']} leg)" if rx["side"] else ""),
        per_week=rx["per_week"], sessions_done=len(days), sessions_expected=rx["per_week"] * weeks,
        volume_pct=100.0 * sum(done) / len(done) if done else None,
    )  # fmt: skip


def build_report(
    store: Store,
    patient_id: str,
    since: str | date | None = None,
    as_of: datetime | None = None,
    *,
    stills: bool = False,
    blur: bool = True,
    model_path: Path | None = None,
) -> PatientReport:
    """Everything the report shows, computed once. `stills=True` extracts the worst frame of
    each shown flagged rep (needs the session's video; faces are blurred unless `blur=False`)."""
    patient = store.require_patient(patient_id)
    since_dt = _when(parse_when(since)) if since is not None else None
    as_of = as_of or datetime.now().replace(microsecond=0)
    sessions = store.sessions(patient_id, since)
    reps_by_session = {s["id"]: store.reps(s["id"]) for s in sessions}
    for s in sessions:
        s["hold_total_s"] = sum(h["duration_s"] or 0.0 for h in store.holds(s["id"]))
    trends: list[Trend] = []
    asym: list[Asymmetry] = []
    for exercise in sorted({s["exercise"] for s in sessions}):
        ex_sessions = [s for s in sessions if s["exercise"] == exercise]
        measure = _measure_for([r for s in ex_sessions for r in reps_by_session[s["id"]]])
        per_leg: dict[str, dict[int, TrendPoint]] = {}
        for leg in LEGS:
            points = []
            left_out = 0
            for s in ex_sessions:
                vals = _values(reps_by_session[s["id"]], measure, leg)
                left_out += not vals and any(leg in _legs(r) for r in reps_by_session[s["id"]])
                if vals:
                    points.append(TrendPoint(
                        s["id"], _when(s["recorded_at"]), float(statistics.median(vals)), float(max(vals)),
                        float(statistics.stdev(vals)) if len(vals) > 1 else 0.0, len(vals),
                    ))  # fmt: skip
            if points:
                change = points[-1].value - points[0].value if len(points) > 1 else None
                trends.append(Trend(exercise, leg, measure, points, change, judge_change(change, measure), left_out))
                per_leg[leg] = {p.session_id: p for p in points}
        if len(per_leg) == 2:
            sdd = MEASURES[measure]["sdd"]
            for sid in sorted(set(per_leg["left"]) & set(per_leg["right"]), key=lambda i: per_leg["left"][i].when):
                d = per_leg["right"][sid].value - per_leg["left"][sid].value
                asym.append(Asymmetry(sid, per_leg["left"][sid].when, exercise, measure, d, sdd is not None and abs(d) >= sdd))
    rx = store.prescriptions(patient_id)
    first = min([_when(s["recorded_at"]) for s in sessions], default=None)
    start = since_dt or first or as_of
    adherence = [_adherence(p, sessions, start, as_of) for p in rx]
    flagged: list[FlaggedRep] = []
    for s in sessions:
        for r in reps_by_session[s["id"]]:
            for leg, v in r["verdict"].items():
                if v.valgus:
                    flagged.append(FlaggedRep(
                        s["id"], _when(s["recorded_at"]), s["exercise"], r["rep_index"], leg, v.measure.value,
                        v.value, r["start_s"], r["start_frame"], r["end_frame"],
                        grade=v.grade.value if v.grade else None,
                    ))  # fmt: skip
    total = len(flagged)
    # newest first, then the most valgus: the reps a therapist should look at now
    flagged.sort(key=lambda f: (f.when, f.value if f.value is not None else -math.inf), reverse=True)
    shown = flagged[:MAX_STILLS]
    if stills and shown:
        attach_stills(store, shown, blur=blur, model_path=model_path)
    report = PatientReport(
        patient=patient, since=since_dt, as_of=as_of, sessions=sessions, prescriptions=rx,
        thresholds=store.effective_thresholds(patient_id), trends=trends, asymmetry=asym, adherence=adherence,
        flagged=shown, flagged_total=total, safety_concerns=store.safety_concerns(patient_id),
    )  # fmt: skip
    report.status, report.reasons = traffic_light(report)
    return report


# -- stills of flagged reps ----------------------------------------------------------------
FACE_LANDMARKS = range(0, 11)  # nose, eyes, ears, mouth (BlazePose 0-10)
STILL_MAX_SIDE = 480


def worst_row(frames_csv: Path, f: FlaggedRep) -> tuple[int, int] | None:
    """(row in frames.csv = frame of annotated.mp4, source frame index) where the deciding measure
    is most valgus within the rep; FPPA only where it was usable, as in scoring."""
    if f.start_frame is None or f.end_frame is None:
        return None
    col = FRAME_COLUMN[f.basis].format(leg=f.leg)
    usable = f"fppa_usable_{f.leg}" if f.basis == "fppa" else None
    best: tuple[float, int, int] | None = None
    with frames_csv.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i < f.start_frame:
                continue
            if i > f.end_frame:
                break
            if not row.get(col) or (usable and row.get(usable) == "0"):
                continue
            v = float(row[col])
            if best is None or v > best[0]:
                best = (v, i, int(row["frame"]))
    return None if best is None else (best[1], best[2])


def read_frame(video: Path, index: int) -> np.ndarray | None:
    """Frame `index` of a video, decoded in order (seeking in mp4v files is not frame-exact)."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        for _ in range(index):
            if not cap.grab():
                return None
        ok, image = cap.read()
        return image if ok else None
    finally:
        cap.release()


def face_box(image: np.ndarray, model_path: Path) -> tuple[int, int, int, int] | None:
    """A box over the head from the pose model's face landmarks (0-10), padded to cover the hair
    and chin; None if no person is found (the caller then withholds the still)."""
    from formcheck.pose import PoseEstimator

    with PoseEstimator(model_path, num_poses=1) as est:
        pose = est.detect(image, 0.0)
    if pose is None:
        return None
    pts = pose.image_xy[list(FACE_LANDMARKS)]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    size = max(x1 - x0, y1 - y0, 1.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = image.shape[:2]
    half = 1.1 * size  # ears to ears is about the face width: double it each way
    return (
        max(0, int(cx - half)), max(0, int(cy - 1.5 * half)),
        min(w, int(cx + half)), min(h, int(cy + 1.2 * half)),
    )  # fmt: skip


def blur_region(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Pixelate, then blur: unrecoverable at report resolution."""
    import cv2

    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return image
    roi = image[y0:y1, x0:x1]
    small = cv2.resize(roi, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
    roi[:] = cv2.GaussianBlur(cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST), (0, 0), 5)
    return image


def make_still(files: dict[str, Path], f: FlaggedRep, *, blur: bool, model_path: Path | None) -> tuple[bytes | None, str]:
    """JPEG of the worst frame of a flagged rep (annotated video preferred), face blurred."""
    import cv2

    if "frames" not in files or not files["frames"].is_file():
        return None, "frames.csv is missing"
    where = worst_row(files["frames"], f)
    if where is None:
        return None, "no measured frame in this rep"
    row, frame = where
    f.frame = frame
    source = read_frame(files["source"], frame) if files.get("source") and files["source"].is_file() else None
    annotated = read_frame(files["annotated"], row) if files.get("annotated") and files["annotated"].is_file() else None
    image = annotated if annotated is not None else source
    if image is None:
        return None, "the session's video is missing"
    if blur:
        if model_path is None:
            return None, "still withheld: no pose model to find the face for blurring"
        box = face_box(source if source is not None else image, model_path)
        if box is None:
            return None, "still withheld: the face could not be located for blurring"
        image = blur_region(image.copy(), box)
    h, w = image.shape[:2]
    scale = min(1.0, STILL_MAX_SIDE / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])
    return (buf.tobytes() if ok else None), ""


def attach_stills(store: Store, flagged: list[FlaggedRep], *, blur: bool = True, model_path: Path | None = None) -> None:
    if blur and model_path is None:
        from formcheck.errors import ModelError
        from formcheck.model_store import resolve_model

        try:
            model_path = resolve_model(None, allow_download=False).path
        except ModelError as exc:
            log.warning("no pose model, so flagged-rep stills are withheld (faces cannot be blurred): %s", exc)
    for f in flagged:
        try:
            f.still_jpeg, f.still_note = make_still(store.files(f.session_id), f, blur=blur, model_path=model_path)
        except (OSError, ValueError) as exc:
            f.still_jpeg, f.still_note = None, f"still unavailable: {exc}"


def traffic_light(r: PatientReport) -> tuple[str, list[str]]:
    """red: seek-advice answers, high or rising pain, or valgus worse beyond the error;
    amber: flagged reps last session, adherence under 80 %, no recent session; else green."""
    red: list[str] = [f"safety: {q}" for q in r.safety_concerns]
    amber: list[str] = []
    if not r.sessions:
        return "amber", ["no sessions recorded"]
    last = r.sessions[-1]
    if last["pain_after"] is not None and last["pain_after"] >= PAIN_HIGH:
        red.append(f"pain {last['pain_after']}/10 after the last session")
    if last["pain_after"] is not None and last["pain_before"] is not None and last["pain_after"] - last["pain_before"] >= PAIN_RISE:
        red.append(f"pain rose from {last['pain_before']} to {last['pain_after']} during the last session")
    for t in r.trends:
        if t.change is not None and t.info["sdd"] is not None and t.change >= t.info["sdd"]:
            red.append(f"{t.exercise}, {t.leg} knee: {t.verdict}")
    if last["flagged_reps"]:
        amber.append(f"{last['flagged_reps']} rep(s) with the knee caving in last session")
    for a in r.adherence:
        if a.pct < 100 * ADHERENCE_OK:
            amber.append(f"{a.exercise}: {a.sessions_done} of {a.sessions_expected:.0f} prescribed sessions")
    days = (r.as_of - _when(last["recorded_at"])).days
    if days > STALE_DAYS:
        amber.append(f"no session for {days} days")
    if red:
        return "red", red + amber
    return ("amber", amber) if amber else ("green", ["on track"])


# -- figures -------------------------------------------------------------------------------
def trend_figure(report: PatientReport, exercise: str, size: tuple[float, float] = (8.0, 3.6)) -> plt.Figure | None:
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
    ax.axhline(report.thresholds[info["threshold"]], color="black", ls="--", lw=0.8, label="threshold")
    ax.axhline(0, color="#999", lw=0.5)
    ax.set_ylabel(f"{info['label']} ({info['unit']})\n+ = valgus", fontsize=9)
    title = f"{exercise}: {info['label']} per session"
    if info["sem"] is not None:
        title += f" (bars: +/-{info['sem']:.0f} deg measurement error; real change >= {info['sdd']:.0f} deg)"
    ax.set_title(title, fontsize=9)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=3, loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def pain_figure(report: PatientReport, size: tuple[float, float] = (8.0, 2.6)) -> plt.Figure | None:
    rows = [s for s in report.sessions if s["pain_before"] is not None or s["pain_after"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=size)
    x = [_when(s["recorded_at"]) for s in rows]
    for key, style, label in (("pain_before", "o--", "before"), ("pain_after", "s-", "after")):
        ax.plot(x, [np.nan if s[key] is None else s[key] for s in rows], style, label=f"pain {label} session")
    ax.set_ylim(-0.5, 10.5)
    ax.set_ylabel("pain (0-10)", fontsize=9)
    ax.set_title("Pain rating per session", fontsize=9)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def figure_svg(fig: plt.Figure | None) -> str | None:
    """The figure as inline SVG styled by presentation attributes, not `style`: the dashboard's
    Content-Security-Policy allows no inline styles, and these attributes are not styles."""
    if fig is None:
        return None
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    root = " ".join(_attrs(rule) for rule in re.findall(r"<style[^>]*>\s*\*\s*\{([^}]*)\}\s*</style>", text))
    text = re.sub(r"<style[^>]*>.*?</style>", "", text, flags=re.S)
    text = re.sub(r' style="([^"]*)"', lambda m: " " + _attrs(m.group(1)), text)
    return text.replace("<svg ", f"<svg {root} ", 1) if root else text


def _attrs(declarations: str) -> str:
    """CSS declarations `fill: #fff; stroke-width: 0.8` as attributes `fill="#fff" stroke-width="0.8"`."""
    pairs = (d.split(":", 1) for d in declarations.split(";") if ":" in d)
    return " ".join(f'{k.strip()}="{html.escape(v.strip())}"' for k, v in pairs)


# -- writers -------------------------------------------------------------------------------
def trend_columns(report: PatientReport, exercise: str) -> list[tuple[int, datetime]]:
    """(session id, date) of every session in any of the exercise's trends, oldest first: the
    legs (or measures) of one exercise need not have been measured in the same sessions."""
    seen = {p.session_id: p.when for t in report.trends if t.exercise == exercise for p in t.points}
    return sorted(seen.items(), key=lambda item: (item[1], item[0]))


def render_html(report: PatientReport, *, standalone: bool = True) -> str:
    """The report page; `standalone=False` gives the body fragment the dashboard embeds."""
    return _env.get_template("therapist_report.html.j2").render(
        r=report,
        standalone=standalone,
        trend_columns={ex: trend_columns(report, ex) for ex in report.exercises},
        trend_svgs={ex: figure_svg(trend_figure(report, ex)) for ex in report.exercises},
        pain_svg=figure_svg(pain_figure(report)),
        sem=FPPA_SEM_DEG,
        sdd=SDD_DEG,
    )


CSV_COLUMNS = [
    "date", "session_id", "exercise", "leg", "measure", "unit", "reps_measured", "median_peak", "worst_peak",
    "rep_sd", "sem", "change_from_first", "verdict", "flagged_reps", "pain_before", "pain_after", "partial",
]  # fmt: skip


def write_csv(report: PatientReport, path: Path) -> None:
    """One row per session, exercise and leg: the numbers behind the trend chart."""
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
                    f"{p.value - first:.2f}", "reference (first session)" if p is t.points[0] else judge_change(p.value - first, t.measure),
                    s["flagged_reps"], s["pain_before"] if s["pain_before"] is not None else "",
                    s["pain_after"] if s["pain_after"] is not None else "", s["partial"],
                ])  # fmt: skip


def write_pdf(report: PatientReport, path: Path) -> None:
    """A4 pages drawn with matplotlib: summary, one trend chart per exercise, pain, flagged reps."""
    from matplotlib.backends.backend_pdf import PdfPages

    a4 = (8.27, 11.69)
    tmp = path.with_name(f".{path.name}.tmp")
    with PdfPages(tmp) as pdf:
        fig = plt.figure(figsize=a4)
        lines = _summary_lines(report)
        fig.text(0.07, 0.95, f"formcheck therapist report: {report.patient['name'] or report.patient['id']}", fontsize=15, weight="bold")
        y = 0.92
        for text, style in lines:
            fig.text(0.07, y, text, fontsize=9 if style != "h" else 11, weight="bold" if style == "h" else "normal",
                     color={"red": "#b00020", "amber": "#a86b00", "green": "#1b7f3b"}.get(style, "black"), wrap=True)  # fmt: skip
            y -= 0.026 if style == "h" else 0.02
            if y < 0.05:
                pdf.savefig(fig)
                plt.close(fig)
                fig, y = plt.figure(figsize=a4), 0.95
        pdf.savefig(fig)
        plt.close(fig)
        charts = [trend_figure(report, ex, size=(7.5, 3.8)) for ex in report.exercises] + [pain_figure(report, (7.5, 3.0))]
        for chart in charts:
            if chart is not None:
                pdf.savefig(chart)
                plt.close(chart)
        for start in range(0, len(report.flagged), 6):
            fig, axes = plt.subplots(3, 2, figsize=a4)
            fig.suptitle("Flagged reps: worst frame (faces blurred)" if start == 0 else "Flagged reps (continued)", fontsize=12)
            for ax, f in zip(axes.flat, [*report.flagged[start : start + 6], *[None] * 6]):
                ax.axis("off")
                if f is None:
                    continue
                ax.set_title(_flag_caption(f), fontsize=8)
                if f.still_jpeg:
                    import cv2

                    img = cv2.imdecode(np.frombuffer(f.still_jpeg, np.uint8), cv2.IMREAD_COLOR)
                    ax.imshow(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
                else:
                    ax.text(0.5, 0.5, f.still_note or "no still", ha="center", va="center", fontsize=8, wrap=True)
            fig.tight_layout(rect=(0, 0, 1, 0.96))
            pdf.savefig(fig)
            plt.close(fig)
        meta = pdf.infodict()
        meta["Title"] = f"formcheck report {report.patient['id']}"
    os.replace(tmp, path)


def _flag_caption(f: FlaggedRep) -> str:
    unit = MEASURES[f.basis]["unit"]
    value = "?" if f.value is None else (f"{f.value:+.1f} {unit}" if unit == "deg" else f"{f.value:+.2f}")
    grade = f" ({f.grade})" if f.grade else ""
    return f"{f.when:%d %b %Y} {f.exercise} rep {f.rep_index}, {f.leg} knee{grade}: {MEASURES[f.basis]['label']} {value}"


def _summary_lines(r: PatientReport) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [
        (f"Patient {r.patient['id']}  |  period {r.since:%d %b %Y} to {r.as_of:%d %b %Y}" if r.since else
         f"Patient {r.patient['id']}  |  all sessions up to {r.as_of:%d %b %Y}", ""),
        (f"Status: {r.status.upper()}: " + "; ".join(r.reasons), r.status),
        ("formcheck coaches form; it does not diagnose.", ""),
        ("Valgus trend (median of each session's per-rep peaks)", "h"),
    ]  # fmt: skip
    for t in r.trends:
        vals = ", ".join(f"{p.when:%d %b} {p.value:+.1f}" for p in t.points)
        out.append((f"{t.exercise}, {t.leg} knee ({t.info['label']}): {vals}", ""))
        out.append((f"      -> {t.verdict}", ""))
    if not r.trends:
        out.append(("no rep measured in this period", ""))
    out.append((f"Measurement error: +/-{FPPA_SEM_DEG:.0f} deg per session value; changes under {SDD_DEG:.0f} deg are not called progress.", ""))
    out.append(("Left/right asymmetry (right minus left; + = right knee more valgus)", "h"))
    for a in r.asymmetry:
        out.append((f"{a.when:%d %b} {a.exercise}: {a.right_minus_left:+.1f}" + ("  ASYMMETRIC" if a.flagged else ""), ""))
    out.append(("Adherence to the prescription", "h"))
    for a in r.adherence:
        vol = "" if a.volume_pct is None else f", {a.volume_pct:.0f}% of the prescribed volume per session"
        out.append((f"{a.exercise} {a.prescribed}, {a.per_week}/week: {a.sessions_done} of {a.sessions_expected:.1f} sessions ({a.pct:.0f}%){vol}", ""))
    if not r.adherence:
        out.append(("no prescription recorded", ""))
    out.append(("Pain (0-10) before / after", "h"))
    for s in r.sessions:
        out.append((f"{_when(s['recorded_at']):%d %b %Y} {s['exercise']}: {_na(s['pain_before'])} / {_na(s['pain_after'])}, "
                    f"{s['rep_count']} reps, {s['flagged_reps']} flagged" + (" (partial)" if s["partial"] else ""), ""))  # fmt: skip
    if r.safety_concerns:
        out.append(("Safety answers that need medical advice first", "h"))
        out += [(q, "red") for q in r.safety_concerns]
    out.append((f"Flagged reps: {r.flagged_total} (stills of the {len(r.flagged)} most recent on the last pages)", "h"))
    return out


def _na(v: Any) -> str:
    return "-" if v is None else str(v)


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


