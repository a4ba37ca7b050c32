"""The knee verdict: which measure judges a knee, against which limit, and what it says.

This is the one place that decides; scoring (per rep), the live cues and the annotated video
(per frame), summary.json, the HTML report, the therapist report and the dashboard read the
`Verdict` it returns and never re-derive it.

Which measure (DOMAIN.md): FPPA where the thigh is seen well enough; where it is foreshortened
(a deep squat seen from the front points the thigh at the camera) the knee is judged against the
foot: by its knee-to-toe change from standing when a standing reference is known and
`Thresholds.knee_toe_from_standing` is set, else by the absolute knee-to-toe offset, else (toe
not seen) by the frontal shank angle.

Against the foot, with `Thresholds.shank_gate` (the default), the knee also caves in when its
shank leans inward past `valgus_shank_deg`, whatever the change from standing: a person who
already stands knock-kneed moves little from standing while the knee caves (benchmarks/RESULTS.md,
real-valgus: squat_front_21's right knee, shank +16 to +24 degrees, change -0.12 to +0.01). The
shank angle does not depend on how far the toes turn out, so clean toes-out lateral lunges, whose
knees sit 0.26-0.33 shank lengths inside the toe landmark, stay unflagged (the absolute
knee-to-toe offset as a gate flagged 4 of their 10 reps). In two-footed squats
(`Thresholds.knee_toe_gate`, set by the squat trackers) the absolute offset is a gate too, at
`valgus_knee_toe_squat`: with both feet planted, a knee ending well inside its toes is a cave
however it started, and a change from standing misses it when clean squats of that person move
the knee outward by more than the cave moves it in (benchmarks/RESULTS.md, real-valgus, warped
clips). The verdict names the measure furthest past its limit.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from typing import Any

from formcheck.config import Thresholds


class Basis(str, enum.Enum):
    """summary.json's `valgus_basis` (schema 1): the family of the deciding measure."""

    FPPA = "fppa"
    SHANK = "shank"
    KNEE_TOE = "knee_toe"


class Measure(str, enum.Enum):
    FPPA = "fppa"  # frontal plane projection angle, degrees
    SHANK = "shank"  # frontal shank angle, degrees
    KNEE_TOE = "knee_toe"  # knee-to-toe offset, shank lengths
    KNEE_TOE_CHANGE = "knee_toe_change"  # knee-to-toe change from standing, standing shank lengths

    @property
    def basis(self) -> Basis:
        return Basis.KNEE_TOE if self is Measure.KNEE_TOE_CHANGE else Basis(self.value)

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def unit(self) -> str:
        return _UNITS[self]

    def format(self, value: float) -> str:
        """The value as the annotated video and the reports write it."""
        if self in (Measure.FPPA, Measure.SHANK):
            return f"{value:+.0f} deg"
        return f"toe {value:+.2f}"


_LABELS = {
    Measure.FPPA: "FPPA",
    Measure.SHANK: "shank angle",
    Measure.KNEE_TOE: "knee-to-toe offset",
    Measure.KNEE_TOE_CHANGE: "knee-to-toe change from standing",
}
_UNITS = {
    Measure.FPPA: "deg",
    Measure.SHANK: "deg",
    Measure.KNEE_TOE: "shank lengths",
    Measure.KNEE_TOE_CHANGE: "standing shank lengths",
}


def limit_of(measure: Measure, th: Thresholds) -> float:
    return {
        Measure.FPPA: th.valgus_fppa_deg,
        Measure.SHANK: th.valgus_shank_deg,
        Measure.KNEE_TOE: th.valgus_knee_toe,
        Measure.KNEE_TOE_CHANGE: th.valgus_knee_toe_change,
    }[measure]


def choose_measure(fppa_usable: bool, toe_seen: bool, standing_known: bool, th: Thresholds) -> Measure:
    """The measure that judges a knee, from what was seen (per frame, or at a rep's bottom)."""
    if fppa_usable:
        return Measure.FPPA
    if not toe_seen:
        return Measure.SHANK
    if th.knee_toe_from_standing and standing_known:
        return Measure.KNEE_TOE_CHANGE
    return Measure.KNEE_TOE


class Grade(str, enum.Enum):
    """How far past its limit a knee went: `marked` is past it by more than the measurement error
    (`Thresholds.marked_margin_deg` / `marked_margin_knee_toe`), so a re-test would still flag it."""

    NONE = "none"
    MILD = "mild"
    MARKED = "marked"


class Confidence(str, enum.Enum):
    """How well the knee could be judged: `low` where the foot was not seen (the shank angle
    decided), the deciding measure was seen on under half of the rep's loaded frames, or the body
    was turned more than 15 degrees; `medium` under 80% seen or over 10 degrees turned."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


LOW_SEEN_SHARE, MEDIUM_SEEN_SHARE = 0.5, 0.8
LOW_YAW_DEG, MEDIUM_YAW_DEG = 15.0, 10.0


def confidence_of(measure: Measure, seen_share: float, yaw_deg: float) -> Confidence:
    yaw = abs(yaw_deg) if math.isfinite(yaw_deg) else 0.0
    if measure is Measure.SHANK or seen_share < LOW_SEEN_SHARE or yaw > LOW_YAW_DEG:
        return Confidence.LOW
    if seen_share < MEDIUM_SEEN_SHARE or yaw > MEDIUM_YAW_DEG:
        return Confidence.MEDIUM
    return Confidence.HIGH


def measures_for(fppa_usable: bool, toe_seen: bool, standing_known: bool, th: Thresholds) -> tuple[Measure, ...]:
    """Every measure that judges the knee, the primary one (`choose_measure`) first, then the
    gates that judge against the foot beside it (`shank_gate`, `knee_toe_gate`)."""
    primary = choose_measure(fppa_usable, toe_seen, standing_known, th)
    if primary in (Measure.FPPA, Measure.SHANK):
        return (primary,)
    gates = (Measure.SHANK,) * th.shank_gate + (Measure.KNEE_TOE,) * (th.knee_toe_gate and primary is Measure.KNEE_TOE_CHANGE)
    return (primary, *gates)


@dataclass(frozen=True)
class Verdict:
    """One knee's verdict: the deciding measure, its value (None: not seen), limit and outcome,
    how far past the limit (grade) and how well it was seen (confidence)."""

    measure: Measure
    value: float | None
    limit: float
    valgus: bool | None  # None: not seen
    grade: Grade | None = None  # None: not seen
    confidence: Confidence = Confidence.HIGH

    def as_json(self) -> dict[str, Any]:
        nd = 1 if self.measure in (Measure.FPPA, Measure.SHANK) else 3
        return {
            "measure": self.measure.value,
            "value": None if self.value is None else round(self.value, nd),
            "limit": self.limit,
            "valgus": self.valgus,
            "grade": None if self.grade is None else self.grade.value,
            "confidence": self.confidence.value,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Verdict":
        value = None if d.get("value") is None else float(d["value"])
        valgus = d.get("valgus")
        grade = Grade(d["grade"]) if d.get("grade") else None
        return cls(Measure(d["measure"]), value, float(d["limit"]), None if valgus is None else bool(valgus), grade,
                   Confidence(d.get("confidence") or Confidence.HIGH.value))  # fmt: skip


def decide(
    measures: tuple[Measure, ...], values: dict[Measure, float | None], th: Thresholds,
    seen_share: float = 1.0, yaw_deg: float = math.nan,
) -> Verdict:  # fmt: skip
    """The knee's verdict on `measures` (`measures_for`): caving in if any passes its limit, named
    after the one furthest past it (relative to its limit); else the primary measure's verdict."""
    verdicts = [judge(m, values.get(m), th, seen_share, yaw_deg) for m in measures]
    caving = [v for v in verdicts if v.valgus]
    if not caving:
        return verdicts[0]
    worst = max(caving, key=lambda v: (v.value - v.limit) / abs(v.limit))  # type: ignore[operator]
    # How well the knee was seen is the primary measure's: a shank gate firing with the foot in
    # view is not the shank deciding for want of a foot.
    return dataclasses.replace(worst, confidence=verdicts[0].confidence)


def margin_of(measure: Measure, th: Thresholds) -> float:
    return th.marked_margin_deg if measure in (Measure.FPPA, Measure.SHANK) else th.marked_margin_knee_toe


def judge(measure: Measure, value: float | None, th: Thresholds, seen_share: float = 1.0, yaw_deg: float = math.nan) -> Verdict:
    """The verdict of `value` read on `measure` (NaN or None: not seen); `seen_share` and
    `yaw_deg` say how well it was seen (`confidence_of`)."""
    v = None if value is None or not math.isfinite(value) else float(value)
    limit = limit_of(measure, th)
    confidence = confidence_of(measure, seen_share, yaw_deg)
    if v is None:
        return Verdict(measure, None, limit, None, None, confidence)
    grade = Grade.NONE if v <= limit else (Grade.MARKED if v > limit + margin_of(measure, th) else Grade.MILD)
    return Verdict(measure, v, limit, v > limit, grade, confidence)
