"""The numbers of the therapist report: trend, asymmetry, adherence, pain, flagged reps, status.

`compute_report(store, patient_id, since=)` reads the store once and returns a `PatientReport`;
`formcheck.clinic.therapist_report` adds stills and renders it. Nothing here draws or decodes video.

Measurement error: 2D FPPA has a standard error of measurement of about 2-4 degrees and a
smallest detectable difference of about 5-9 (Munro et al. 2012; Gwynne & Curran 2014), so every
session value carries a +/- SEM band and a change under SDD_DEG is never called progress. The
same figures are used for the frontal shank angle (the same kind of 2D angle from the same
landmarks; no published figure of its own). The knee-to-toe offset and its change from standing
have no published error figure: their smallest real change is SDD_KNEE_TOE, the margin the
verdict's grade uses (`Thresholds.marked_margin_knee_toe`, about three standard deviations of one
person's clean reps).

Each rep and leg is read on the measure its verdict names (`verdict.Verdict`, as the store returns
it: from summary.json, or for sessions from before verdicts were recorded, decided by the same
rule from what their summary kept). Trends and flags use that same measure.

Knee range of motion (knee-rom sessions, `store.session_rom`): per leg and session the best max
flexion (the most bent rep) and the best fullest extension (the straightest), in degrees of knee
flexion. Its smallest real change is ROM_SDD_DEG, the clinic goniometer's: a long-arm goniometer's
minimum significant difference is 10 degrees (Hancock et al. 2018, J Exp Orthop 5:46, "Accuracy
and reliability of knee goniometry methods"), and between testers the minimal detectable change
(MDC95) of knee extension was 3.7-10.4 degrees (ACL patients, Thieme 2024, doi 10.1055/a-2321-0516).
The pose model's angle from video is no better than the goniometer (the knee-rom tracker measured
+5 to +9 degrees on near-straight knees), so no smaller change is called progress.

Hop landings (hop sessions, `store.session_landings`): per leg and session the share of landings
flagged and the median and worst of each landing's FPPA peak in the landing window (the
drop-landing convention the verdict judges by), against the landing limit the sessions were judged
by (`Thresholds.valgus_landing_fppa_deg`). A landing's FPPA is the same 2D angle, so SDD_DEG holds
for it: a change of the median under 8 degrees is not called progress. Hop sessions have this
section instead of a line in the valgus trend per exercise, where they would be drawn against the
squat's limit.

Sideways steps (band-walk and side-push sessions, `store.session_steps`): per session the steps
each way, the share of band-walk steps whose feet came closer than `band_min_ankle_separation`
and the median of each step's narrowest feet (standing hip widths), and per leg the share of
push-offs flagged. These are counts and a hip-width ratio with no published measurement error,
so their changes are shown, never judged.

Pivots (pivot sessions, `store.session_plants`): per planted leg and session, like hop landings,
the plants, the share flagged and the median and worst of each plant's FPPA peak over the plant
window, against the limit the sessions were judged by (`Thresholds.valgus_fppa_deg`, as the
session recorded it); the FPPA change is judged by SDD_DEG. Beside them the median trunk turn,
which has no published error and which the pose model under-reads (42-44 degrees read against a
true 60 on the synthetic pivots): shown, never judged. Pivot sessions have this section instead
of a line in the valgus trend per exercise.

Adduction slides (adduction-slide sessions, `store.session_slides`): per session and bent leg the
slides, the median and best (largest) slide range (how far the straight leg's foot slid in, in
straight-leg lengths) and the share of slides whose bent knee was flagged. No published error:
shown, never judged. The bent knee's peaks stay in the valgus trend per exercise.

Balance progressions (balance sessions, `store.session_progressions`): per session and
progression (flat, tiptoes, head-turns, reaches, or several at once) the holds, the seconds held
and the longest hold, and the median sway (pelvis, body lengths). No published error: shown,
never judged.

Knee range of motion (knee-rom) has no valgus trend: a knee bending and straightening lying or
seated is not loaded the way the valgus limits assume (NO_VALGUS_TREND).
"""

from __future__ import annotations

import base64
import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from formcheck.clinic.store import (
    Store,
    parse_when,
    progression_order,
    session_landings,
    session_plants,
    session_progressions,
    session_rom,
    session_slides,
    session_steps,
)
from formcheck.config import Thresholds
from formcheck.errors import InputError
from formcheck.trackers import tracker_class

FPPA_SEM_DEG = 3.0  # standard error of measurement, middle of the published 2-4 degrees
SDD_DEG = 8.0  # smallest change called real (published 5-9 degrees; DOMAIN.md: about 8)
SDD_KNEE_TOE = Thresholds.marked_margin_knee_toe  # shank lengths; measured, not published
ROM_SDD_DEG = 10.0  # knee ROM: smallest change called real (goniometer, published 4-10 deg; see above)
MAX_STILLS = 12  # flagged reps shown with a still (the most valgus first)
ADHERENCE_OK = 0.8
STALE_DAYS = 7  # no session for longer than this: amber
PAIN_HIGH = 7  # pain after a session at or above this: red
PAIN_RISE = 2  # pain after minus before at or above this in the last session: red
LEGS = ("left", "right")
NO_VALGUS_TREND = frozenset({"knee-rom"})  # exercises whose reps' valgus trend means nothing
LANDING_EXERCISES = frozenset({"hop"})  # their valgus is trended in the landing section instead
PIVOT_EXERCISES = frozenset({"pivot"})  # their valgus is trended in the pivot section instead
OWN_SECTION = LANDING_EXERCISES | PIVOT_EXERCISES  # judged over a window after contact or plant
STEP_EXERCISES = ("band-walk", "side-push")  # sideways steps, in this order
BALANCE_EXERCISE = "balance"
TRUNK_TURN_NOTE = "under-read by the pose model: 42-44 deg read against a true 60 on synthetic pivots"

_ANGLE_SOURCE = "2D FPPA: SEM 2-4 deg, smallest detectable difference 5-9 deg; Munro et al. 2012"
_KNEE_TOE_SOURCE = "no published figure; about three standard deviations of one person's clean reps"
_ROM_SOURCE = ("long-arm goniometer: minimum significant difference 10 deg, Hancock et al. 2018; "
               "between testers MDC95 3.7-10.4 deg, ACL patients, 2024")
MEASURES: dict[str, dict[str, Any]] = {
    "fppa": {"column": "peak_fppa_{leg}_deg", "label": "peak FPPA", "unit": "deg", "decimals": 1,
             "sem": FPPA_SEM_DEG, "sdd": SDD_DEG, "source": _ANGLE_SOURCE, "threshold": "valgus_fppa_deg",
             "sign": "+ = the knee inside the line from hip to ankle"},
    "shank": {"column": "peak_shank_{leg}_deg", "label": "peak shank angle", "unit": "deg", "decimals": 1,
              "sem": FPPA_SEM_DEG, "sdd": SDD_DEG, "source": _ANGLE_SOURCE + "; the same figures used for the shank",
              "threshold": "valgus_shank_deg", "sign": "+ = the shin leaning inward"},
    "knee_toe": {"column": "peak_knee_toe_{leg}", "label": "peak knee-to-toe offset", "unit": "shank lengths",
                 "decimals": 2, "sem": None, "sdd": SDD_KNEE_TOE, "source": _KNEE_TOE_SOURCE,
                 "threshold": "valgus_knee_toe", "sign": "+ = the knee inside its toes"},
    "knee_toe_change": {"column": "peak_knee_toe_change_{leg}", "label": "peak knee-to-toe change from standing",
                        "unit": "standing shank lengths", "decimals": 2, "sem": None, "sdd": SDD_KNEE_TOE,
                        "source": _KNEE_TOE_SOURCE, "threshold": "valgus_knee_toe_change",
                        "sign": "+ = the knee moved toward the midline relative to its toes since standing"},
    # knee range of motion (knee-rom): no column or threshold; read through store.session_rom
    "max_flexion": {"column": None, "label": "max knee flexion", "unit": "deg", "decimals": 1, "sem": None,
                    "sdd": ROM_SDD_DEG, "source": _ROM_SOURCE, "threshold": None,
                    "sign": "degrees of knee flexion, the most bent rep of the session: more = more range"},
    "fullest_extension": {"column": None, "label": "fullest knee extension", "unit": "deg", "decimals": 1,
                          "sem": None, "sdd": ROM_SDD_DEG, "source": _ROM_SOURCE, "threshold": None,
                          "sign": "degrees of knee flexion left at the straightest rep of the session: 0 = straight, "
                                  "less = straighter, negative = hyperextended"},
}  # fmt: skip
ROM_MEASURES = ("max_flexion", "fullest_extension")
# frames.csv has no per-frame change from standing: for a still, the frame with the knee furthest
# inside the toes (the offset) stands in for it.
FRAME_COLUMN = {"fppa": "fppa_{leg}_deg", "shank": "shank_{leg}_deg", "knee_toe": "knee_toe_{leg}", "knee_toe_change": "knee_toe_{leg}"}


def signed(value: float | None, decimals: int = 1) -> str:
    """`+1.5`, `-0.25`, and `0` for anything that rounds to zero (never `-0.0` or `+0.00`)."""
    if value is None:
        return "-"
    text = f"{value:+.{decimals}f}"
    return "0" if float(text) == 0 else text


def plain(value: float | None, decimals: int = 2) -> str:
    """`1.25`, and `0` for anything that rounds to zero; `-` for None."""
    if value is None:
        return "-"
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def measure_value(value: float | None, measure: str) -> str:
    """A value with its measure's decimals and unit: `+12.5 deg`, `0 shank lengths`."""
    info = MEASURES[measure]
    return f"{signed(value, info['decimals'])} {info['unit']}"


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
class RomPoint:
    session_id: int
    when: datetime
    value: float  # the session's best (max flexion: the largest; fullest extension: the smallest)
    uncertainty: float | None  # that rep's disagreement between the image and world angles
    estimate: str | None  # which angle was reported: "image" (2D, side view) or "world" (3D)
    reps: int  # reps that measured this leg


@dataclass
class RomTrend:
    leg: str
    measure: str  # "max_flexion" or "fullest_extension"
    points: list[RomPoint]
    change: float | None = None  # last minus first session value
    verdict: str = ""

    @property
    def info(self) -> dict[str, Any]:
        return MEASURES[self.measure]

    @property
    def worse(self) -> bool:
        """Range lost by at least the smallest real change since the first session."""
        return self.change is not None and is_real(self.change, self.measure) and not rom_better(self.change, self.measure)


@dataclass
class LandingPoint:
    session_id: int
    when: datetime
    judged: int  # landings this leg's verdict was known for
    flagged: int
    value: float | None  # median over landings of the FPPA peak in the landing window
    worst: float | None  # the highest of those peaks
    at_contact: float | None  # median FPPA at initial contact
    measured: int  # landings with a peak measured

    @property
    def share(self) -> float | None:
        """Flagged landings as a share (0-1) of those judged; None with none judged."""
        return self.flagged / self.judged if self.judged else None


@dataclass
class LandingTrend:
    leg: str
    points: list[LandingPoint]
    change: float | None = None  # last minus first session median peak
    verdict: str = ""
    measure: str = "fppa"

    @property
    def info(self) -> dict[str, Any]:
        return MEASURES[self.measure]


@dataclass
class PlantPoint(LandingPoint):
    """A pivot session's plants on one leg: `value`/`worst` the plant-window FPPA peaks' median and
    highest, `at_contact` the median FPPA at the plant."""

    plants: int = 0
    turn: float | None = None  # median trunk turn, degrees (under-read: TRUNK_TURN_NOTE)


@dataclass
class SlidesPoint:
    session_id: int
    when: datetime
    slides: int
    per_leg: dict[str, int]  # slides per bent leg
    median_range: dict[str, float | None]  # straight-leg lengths, per bent leg
    best_range: dict[str, float | None]  # the largest
    judged: dict[str, int]  # per bent leg: slides whose bent knee's verdict was known
    flagged: dict[str, int]

    @property
    def legs(self) -> list[str]:
        return [leg for leg in LEGS if self.per_leg.get(leg)]

    def share(self, leg: str) -> float | None:
        return self.flagged[leg] / self.judged[leg] if self.judged.get(leg) else None


@dataclass
class HoldGroup:
    """A balance session's holds of one progression."""

    holds: int
    seconds: float  # held in all
    longest: float | None
    sway: float | None  # median over the holds, body lengths (pelvis RMS)


@dataclass
class BalancePoint:
    session_id: int
    when: datetime
    holds: int
    legs: dict[str, int]  # holds per standing leg
    progressions: dict[str | None, HoldGroup]  # None: holds analysed before progressions were named


@dataclass
class StepsPoint:
    session_id: int
    when: datetime
    exercise: str
    steps: int
    per_direction: dict[str, int]  # the person's own left and right
    push_offs: dict[str, int]  # per leg: push-offs judged
    push_off_valgus: dict[str, int]  # per leg: push-offs flagged
    separations: int  # steps whose narrowest feet were measured (band-walk)
    too_close: int
    median_separation: float | None  # standing hip widths, median of each step's narrowest
    narrowest: float | None
    limit: float  # band_min_ankle_separation the session was judged by

    def share(self, leg: str) -> float | None:
        return self.push_off_valgus[leg] / self.push_offs[leg] if self.push_offs.get(leg) else None

    @property
    def too_close_share(self) -> float | None:
        return self.too_close / self.separations if self.separations else None


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
    sessions_expected: int  # whole sessions due over the period, rounded half up
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
    rom: list[RomTrend] = field(default_factory=list)  # knee range of motion per leg (knee-rom sessions)
    landings: list[LandingTrend] = field(default_factory=list)  # hop landing valgus per leg
    landing_limit: float = Thresholds.valgus_landing_fppa_deg  # the newest hop session's
    steps: list[StepsPoint] = field(default_factory=list)  # band-walk and side-push sessions
    plants: list[LandingTrend] = field(default_factory=list)  # pivot plant valgus per leg (PlantPoint points)
    plant_limit: float = Thresholds.valgus_fppa_deg  # the newest pivot session's
    slides: list[SlidesPoint] = field(default_factory=list)  # adduction-slide sessions
    balance: list[BalancePoint] = field(default_factory=list)  # balance sessions

    def limit_of(self, exercise: str, key: str) -> float:
        """The limit `key` as `exercise` applies the patient's current thresholds
        (`Tracker.thresholds`: squats judge the knee-to-toe offset at valgus_knee_toe_squat)."""
        th = Thresholds(**self.thresholds)
        try:
            th = tracker_class(exercise)().thresholds(th)
        except InputError:  # an exercise this version does not know: the thresholds as set
            pass
        return float(getattr(th, key))

    @property
    def valgus_exercises(self) -> list[str]:
        """The exercises the valgus trend per exercise lists: not knee-rom (nothing to trend) nor
        hop and pivot (their own sections)."""
        return [ex for ex in self.exercises if ex not in NO_VALGUS_TREND | OWN_SECTION]

    @property
    def progressions(self) -> list[str | None]:
        """Every balance progression held in the period, flat first, combinations last."""
        return sorted({name for b in self.balance for name in b.progressions}, key=progression_order)

    @property
    def step_exercises(self) -> list[str]:
        return [ex for ex in STEP_EXERCISES if any(p.exercise == ex for p in self.steps)]

    @property
    def exercises(self) -> list[str]:
        return sorted({t.exercise for t in self.trends} | {s["exercise"] for s in self.sessions})

    @property
    def measures(self) -> list[str]:
        """Every measure the report shows a number of, in MEASURES order: each is explained once."""
        used = {t.measure for t in self.trends} | {a.measure for a in self.asymmetry} | {f.basis for f in self.flagged}
        used |= {t.measure for t in self.rom} | {t.measure for t in self.landings + self.plants}
        return [m for m in MEASURES if m in used]


def when(iso: str) -> datetime:
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


def is_real(change: float, measure: str) -> bool:
    """At least the measure's smallest real change (a printed +8.0 counts, float noise aside)."""
    return abs(change) >= MEASURES[measure]["sdd"] - 1e-9


def judge_change(change: float | None, measure: str) -> str:
    """Words for a change between sessions that never over-claim; the rule itself (the measure's
    smallest real change) is stated once per measure beside the numbers."""
    if change is None:
        return "one session only: no trend yet"
    if not is_real(change, measure):
        return f"no real change ({measure_value(change, measure)})"
    return f"{'less' if change < 0 else 'more'} valgus: {measure_value(change, measure)} ({'improved' if change < 0 else 'worse'})"


def rom_better(change: float, measure: str) -> bool:
    """More flexion, or less flexion left at the straightest: more range."""
    return change > 0 if measure == "max_flexion" else change < 0


def judge_rom_change(change: float | None, measure: str) -> str:
    """Words for a change of knee range between sessions: more flexion or a straighter knee is
    better; under the smallest real change it is no change."""
    if change is None:
        return "one session only: no trend yet"
    if not is_real(change, measure):
        return f"no real change ({measure_value(change, measure)})"
    better = rom_better(change, measure)
    if measure == "max_flexion":
        words = "bends further" if better else "bends less far"
    else:
        words = "straightens further" if better else "straightens less far"
    return f"{words}: {measure_value(change, measure)} ({'improved' if better else 'worse'})"


def rom_trends(sessions: list[dict[str, Any]], reps_by_session: dict[int, list[dict[str, Any]]]) -> list[RomTrend]:
    """Per leg, the best max flexion and fullest extension of every session that measured it."""
    best = {s["id"]: session_rom(reps_by_session[s["id"]]) for s in sessions}
    trends: list[RomTrend] = []
    for leg in LEGS:
        for measure in ROM_MEASURES:
            points = [
                RomPoint(s["id"], when(s["recorded_at"]), b["deg"], b["uncertainty_deg"], b["measure"], best[s["id"]][leg]["reps"])
                for s in sessions
                if (b := best[s["id"]].get(leg, {}).get(measure)) is not None
            ]  # fmt: skip
            if points:
                change = points[-1].value - points[0].value if len(points) > 1 else None
                trends.append(RomTrend(leg, measure, points, change, judge_rom_change(change, measure)))
    return trends


def _recorded(session: dict[str, Any], key: str) -> float:
    """A limit as the session recorded it in summary.json's thresholds, else the default."""
    try:
        value = json.loads(session.get("thresholds_json") or "{}").get(key)
    except (ValueError, AttributeError):
        value = None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else float(getattr(Thresholds, key))


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _window_trends(found: list[tuple[dict[str, Any], dict[str, Any]]], point: Any) -> list[LandingTrend]:
    """Per leg, the sessions' FPPA judged over a window (hop landings, pivot plants): `found` holds
    (session, its `store.session_landings`/`session_plants`), `point(session, leg block)` makes a
    point; the change is the median peak's, last minus first session, judged as FPPA."""
    trends: list[LandingTrend] = []
    for leg in LEGS:
        points = [point(s, d) for s, found_in in found if (d := found_in["legs"].get(leg)) is not None]
        if points:
            valued = [p for p in points if p.value is not None]
            change = valued[-1].value - valued[0].value if len(valued) > 1 else None  # type: ignore[operator]
            trends.append(LandingTrend(leg, points, change, judge_change(change, "fppa")))
    return trends


def landing_trends(sessions: list[dict[str, Any]], reps_by_session: dict[int, list[dict[str, Any]]]) -> list[LandingTrend]:
    """Per leg, every hop session's landings: share flagged, median and worst peak FPPA."""
    found = [(s, land) for s in sessions if (land := session_landings(reps_by_session[s["id"]])) is not None]
    return _window_trends(found, lambda s, d: LandingPoint(
        s["id"], when(s["recorded_at"]), d["judged"], d["flagged"], _median(d["peak_fppa_deg"]),
        max(d["peak_fppa_deg"], default=None), _median(d["fppa_at_contact_deg"]), len(d["peak_fppa_deg"])))  # fmt: skip


def plant_trends(sessions: list[dict[str, Any]], reps_by_session: dict[int, list[dict[str, Any]]]) -> list[LandingTrend]:
    """Per planted leg, every pivot session's plants: share flagged, median and worst plant-window
    FPPA peak, median FPPA at the plant and median trunk turn."""
    found = [(s, pl) for s in sessions if (pl := session_plants(reps_by_session[s["id"]])) is not None]
    return _window_trends(found, lambda s, d: PlantPoint(
        s["id"], when(s["recorded_at"]), d["judged"], d["flagged"], _median(d["peak_fppa_deg"]),
        max(d["peak_fppa_deg"], default=None), _median(d["fppa_at_plant_deg"]), len(d["peak_fppa_deg"]),
        plants=d["plants"], turn=_median(d["trunk_turn_deg"])))  # fmt: skip


def window_asymmetry(trends: list[LandingTrend], exercise: str) -> list[Asymmetry]:
    """Right minus left median peak, per hop (or pivot) session that measured both."""
    by_leg = {t.leg: {p.session_id: p for p in t.points if p.value is not None} for t in trends}
    if set(by_leg) != set(LEGS):
        return []
    both = sorted(set(by_leg["left"]) & set(by_leg["right"]), key=lambda i: (by_leg["left"][i].when, i))
    out = []
    for sid in both:
        d = by_leg["right"][sid].value - by_leg["left"][sid].value  # type: ignore[operator]
        out.append(Asymmetry(sid, by_leg["left"][sid].when, exercise, "fppa", d, is_real(d, "fppa")))
    return out


def slides_points(sessions: list[dict[str, Any]], reps_by_session: dict[int, list[dict[str, Any]]]) -> list[SlidesPoint]:
    """Every adduction-slide session's slides per bent leg, oldest first."""
    points = []
    for s in sessions:
        sl = session_slides(reps_by_session[s["id"]])
        if sl is None:
            continue
        legs = sl["legs"]
        points.append(SlidesPoint(
            s["id"], when(s["recorded_at"]), sl["slides"], {leg: d["slides"] for leg, d in legs.items()},
            {leg: _median(d["ranges"]) for leg, d in legs.items()}, {leg: max(d["ranges"], default=None) for leg, d in legs.items()},
            {leg: d["judged"] for leg, d in legs.items()}, {leg: d["flagged"] for leg, d in legs.items()},
        ))  # fmt: skip
    return points


def balance_points(sessions: list[dict[str, Any]], holds_by_session: dict[int, list[dict[str, Any]]]) -> list[BalancePoint]:
    """Every balance session's holds grouped by progression, oldest first (a session without holds
    too: the patient practised, nothing was held long enough)."""
    points = []
    for s in sessions:
        if s["exercise"] != BALANCE_EXERCISE:
            continue
        found = session_progressions(holds_by_session[s["id"]])
        groups = {name: HoldGroup(g["holds"], g["seconds"], g["longest"], _median(g["sway"])) for name, g in found.items()}
        legs = {leg: n for leg in LEGS if (n := sum(g["legs"].get(leg, 0) for g in found.values()))}
        points.append(BalancePoint(s["id"], when(s["recorded_at"]), len(holds_by_session[s["id"]]), legs, groups))
    return points


def steps_points(sessions: list[dict[str, Any]], reps_by_session: dict[int, list[dict[str, Any]]]) -> list[StepsPoint]:
    """Every band-walk or side-push session's steps, oldest first."""
    points = []
    for s in sessions:
        st = session_steps(reps_by_session[s["id"]])
        if st is None:
            continue
        points.append(StepsPoint(
            s["id"], when(s["recorded_at"]), s["exercise"], st["steps"], st["per_direction"], st["push_offs"],
            st["push_off_valgus"], st["separations"], st["too_close"], st["median_separation"],
            st["narrowest_separation"], _recorded(s, "band_min_ankle_separation"),
        ))  # fmt: skip
    return points


def landing_columns(report: PatientReport) -> list[tuple[int, datetime]]:
    """(session id, date) of every session in the landing trends, oldest first."""
    seen = {p.session_id: p.when for t in report.landings for p in t.points}
    return sorted(seen.items(), key=lambda item: (item[1], item[0]))


def plant_columns(report: PatientReport) -> list[tuple[int, datetime]]:
    """(session id, date) of every session in the pivot trends, oldest first."""
    seen = {p.session_id: p.when for t in report.plants for p in t.points}
    return sorted(seen.items(), key=lambda item: (item[1], item[0]))


def share_text(part: int, whole: int) -> str:
    """`2 of 6 (33%)`; `0 of 6 (0%)`; with nothing judged `-`."""
    return f"{part} of {whole} ({100.0 * part / whole:.0f}%)" if whole else "-"


def rom_columns(report: PatientReport) -> list[tuple[int, datetime]]:
    """(session id, date) of every session in the range-of-motion trends, oldest first."""
    seen = {p.session_id: p.when for t in report.rom for p in t.points}
    return sorted(seen.items(), key=lambda item: (item[1], item[0]))


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
        per_week=rx["per_week"], sessions_done=len(days), sessions_expected=math.floor(rx["per_week"] * weeks + 0.5),
        volume_pct=100.0 * sum(done) / len(done) if done else None,
    )  # fmt: skip


def compute_report(store: Store, patient_id: str, since: str | date | None = None, as_of: datetime | None = None) -> PatientReport:
    """Everything the report shows but the stills, computed once."""
    patient = store.require_patient(patient_id)
    since_dt = when(parse_when(since)) if since is not None else None
    as_of = as_of or datetime.now().replace(microsecond=0)
    sessions = store.sessions(patient_id, since)
    reps_by_session = {s["id"]: store.reps(s["id"]) for s in sessions}
    holds_by_session = {s["id"]: store.holds(s["id"]) for s in sessions}
    for s in sessions:
        s["hold_total_s"] = sum(h["duration_s"] or 0.0 for h in holds_by_session[s["id"]])
    trends: list[Trend] = []
    asym: list[Asymmetry] = []
    for exercise in sorted({s["exercise"] for s in sessions} - NO_VALGUS_TREND - OWN_SECTION):
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
                        s["id"], when(s["recorded_at"]), float(statistics.median(vals)), float(max(vals)),
                        float(statistics.stdev(vals)) if len(vals) > 1 else 0.0, len(vals),
                    ))  # fmt: skip
            if points:
                change = points[-1].value - points[0].value if len(points) > 1 else None
                trends.append(Trend(exercise, leg, measure, points, change, judge_change(change, measure), left_out))
                per_leg[leg] = {p.session_id: p for p in points}
        if len(per_leg) == 2:
            for sid in sorted(set(per_leg["left"]) & set(per_leg["right"]), key=lambda i: per_leg["left"][i].when):
                d = per_leg["right"][sid].value - per_leg["left"][sid].value
                asym.append(Asymmetry(sid, per_leg["left"][sid].when, exercise, measure, d, is_real(d, measure)))
    landings = landing_trends(sessions, reps_by_session)
    plants = plant_trends(sessions, reps_by_session)
    asym += window_asymmetry(landings, "hop") + window_asymmetry(plants, "pivot")
    rx = store.prescriptions(patient_id)
    first = min([when(s["recorded_at"]) for s in sessions], default=None)
    start = since_dt or first or as_of
    adherence = [_adherence(p, sessions, start, as_of) for p in rx]
    flagged: list[FlaggedRep] = []
    for s in sessions:
        for r in reps_by_session[s["id"]]:
            for leg, v in r["verdict"].items():
                if v.valgus:
                    flagged.append(FlaggedRep(
                        s["id"], when(s["recorded_at"]), s["exercise"], r["rep_index"], leg, v.measure.value,
                        v.value, r["start_s"], r["start_frame"], r["end_frame"],
                        grade=v.grade.value if v.grade else None,
                    ))  # fmt: skip
    total = len(flagged)
    # newest first, then the most valgus: the reps a therapist should look at now
    flagged.sort(key=lambda f: (f.when, f.value if f.value is not None else -math.inf), reverse=True)
    report = PatientReport(
        patient=patient, since=since_dt, as_of=as_of, sessions=sessions, prescriptions=rx,
        thresholds=store.effective_thresholds(patient_id), trends=trends, asymmetry=asym, adherence=adherence,
        flagged=flagged[:MAX_STILLS], flagged_total=total, safety_concerns=store.safety_concerns(patient_id),
        rom=rom_trends(sessions, reps_by_session), landings=landings, steps=steps_points(sessions, reps_by_session),
        landing_limit=_newest_limit(sessions, LANDING_EXERCISES, "valgus_landing_fppa_deg"), plants=plants,
        plant_limit=_newest_limit(sessions, PIVOT_EXERCISES, "valgus_fppa_deg"), slides=slides_points(sessions, reps_by_session),
        balance=balance_points(sessions, holds_by_session),
    )  # fmt: skip
    report.status, report.reasons = traffic_light(report)
    return report


def _newest_limit(sessions: list[dict[str, Any]], exercises: frozenset[str], key: str) -> float:
    """The limit `key` the newest session of `exercises` recorded, else the default."""
    return next((_recorded(s, key) for s in reversed(sessions) if s["exercise"] in exercises), float(getattr(Thresholds, key)))


def traffic_light(r: PatientReport) -> tuple[str, list[str]]:
    """red: seek-advice answers, high or rising pain, or valgus worse beyond the error;
    amber: knee range lost beyond the error, flagged reps last session, adherence under 80 %, no
    recent session; else green."""
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
        if t.change is not None and t.change > 0 and is_real(t.change, t.measure):
            red.append(f"{t.exercise}, {t.leg} knee: {t.verdict}")
    for what, trends in (("hop landings", r.landings), ("pivot plants", r.plants)):
        for t in trends:
            if t.change is not None and t.change > 0 and is_real(t.change, t.measure):
                red.append(f"{what}, {t.leg} knee: {t.verdict}")
    for t in r.rom:
        if t.worse:
            amber.append(f"{t.leg} knee: {t.verdict}")
    if last["flagged_reps"]:
        amber.append(f"{last['flagged_reps']} rep(s) with the knee caving in last session")
    for a in r.adherence:
        if a.pct < 100 * ADHERENCE_OK:
            amber.append(f"{a.exercise}: {a.sessions_done} of {a.sessions_expected} prescribed sessions")
    days = (r.as_of - when(last["recorded_at"])).days
    if days > STALE_DAYS:
        amber.append(f"no session for {days} days")
    if red:
        return "red", red + amber
    return ("amber", amber) if amber else ("green", ["on track"])


def trend_columns(report: PatientReport, exercise: str) -> list[tuple[int, datetime]]:
    """(session id, date) of every session in any of the exercise's trends, oldest first: the
    legs (or measures) of one exercise need not have been measured in the same sessions."""
    seen = {p.session_id: p.when for t in report.trends if t.exercise == exercise for p in t.points}
    return sorted(seen.items(), key=lambda item: (item[1], item[0]))
