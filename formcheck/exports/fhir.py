"""FHIR R4: a session (or a patient's sessions) as a Bundle (type collection) of Observations.

Per session, exercise and leg: the peak valgus of each measure that judged that knee (with its
UCUM unit and the limit as the reference range's high end), reps, flagged reps and hold time;
and pain before/after when known. Real codes where they exist: LOINC 72514-3 (pain severity, 0-10
numeric rating), SNOMED CT 72696002 (knee region structure) with 7771000 / 24028007 (left / right).
No LOINC or SNOMED code names a knee valgus measure, a rep count or a hold time, so those use
formcheck's own code system, MEASURE_SYSTEM (exercises: EXERCISE_SYSTEM). Pure: dicts in, dicts out.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

MEASURE_SYSTEM = "urn:formcheck:fhir:measure"
EXERCISE_SYSTEM = "urn:formcheck:fhir:exercise"
PATIENT_ID_SYSTEM = "urn:formcheck:patient-id"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

PAIN_LOINC = {"system": LOINC, "code": "72514-3", "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}
KNEE = {"system": SNOMED, "code": "72696002", "display": "Knee region structure"}
SIDE = {"left": {"system": SNOMED, "code": "7771000", "display": "Left"},
        "right": {"system": SNOMED, "code": "24028007", "display": "Right"}}  # fmt: skip

# verdict measure -> (display, UCUM code, unit as written)
VALGUS_MEASURES = {
    "fppa": ("Peak knee valgus: frontal-plane projection angle", "deg", "deg"),
    "shank": ("Peak knee valgus: frontal shank angle", "deg", "deg"),
    "knee_toe": ("Peak knee valgus: knee-to-toe offset", "1", "shank lengths"),
    "knee_toe_change": ("Peak knee valgus: knee-to-toe change from standing", "1", "standing shank lengths"),
}
_NAMESPACE = uuid.UUID("6f1d2a4e-2b7c-5c1e-9f0a-3d4b5c6e7f80")  # formcheck's FHIR ids


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(map(str, parts))))


def fhir_datetime(when: str | datetime) -> str:
    """An ISO date-time with its UTC offset (FHIR requires one when a time is given); a naive
    time is taken as local time."""
    dt = datetime.fromisoformat(when) if isinstance(when, str) else when
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.isoformat(timespec="seconds")


def patient_resource(patient_id: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": _uid("patient", patient_id),
            "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient_id}]}  # fmt: skip


def _subject(patient_id: str) -> dict[str, Any]:
    return {"reference": f"urn:uuid:{_uid('patient', patient_id)}",
            "identifier": {"system": PATIENT_ID_SYSTEM, "value": patient_id}}  # fmt: skip


def _code(key: str, display: str, *extra: Mapping[str, str]) -> dict[str, Any]:
    return {"coding": [*extra, {"system": MEASURE_SYSTEM, "code": key, "display": display}], "text": display}


def _exercise_component(exercise: str) -> dict[str, Any]:
    return {"code": _code("exercise", "Exercise"),
            "valueCodeableConcept": {"coding": [{"system": EXERCISE_SYSTEM, "code": exercise}], "text": exercise}}  # fmt: skip


def _peaks(summary: Mapping[str, Any], leg: str) -> dict[str, dict[str, Any]]:
    """Per measure, the verdict with the highest value among the leg's reps and holds."""
    judged = [r.get("verdict", {}).get(leg) for r in summary.get("reps", []) if leg in (r.get("legs") or [])]
    judged += [h.get("verdict") for h in summary.get("holds", []) if h.get("leg") == leg]
    best: dict[str, dict[str, Any]] = {}
    for v in judged:
        if not v or v.get("value") is None or v.get("measure") not in VALGUS_MEASURES:
            continue
        if v["measure"] not in best or v["value"] > best[v["measure"]]["value"]:
            best[v["measure"]] = v
    return best


def session_observations(
    summary: Mapping[str, Any], patient_id: str, when: str | datetime,
    pain_before: int | None = None, pain_after: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The Observations of one session (its summary.json) for one patient."""
    exercise = str(summary.get("exercise", "unknown"))
    effective = fhir_datetime(when)
    key = (patient_id, (summary.get("source") or {}).get("sha256") or (summary.get("source") or {}).get("path"), effective)
    status = "preliminary" if summary.get("partial") else "final"
    out: list[dict[str, Any]] = []

    def add(code: str, category: str, value: dict[str, Any], leg: str | None = None, **more: Any) -> None:
        obs = {
            "resourceType": "Observation", "id": _uid(*key, exercise, code, leg), "status": status,
            "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
            "code": more.pop("code_concept"), "subject": _subject(patient_id), "effectiveDateTime": effective,
            **value, "component": [_exercise_component(exercise)],
        }  # fmt: skip
        if leg is not None:
            obs["bodySite"] = {"coding": [KNEE], "text": f"{leg} knee"}
            obs["component"].append({"code": _code("leg", "Leg"), "valueCodeableConcept": {"coding": [SIDE[leg]], "text": leg}})
        obs.update(more)
        out.append(obs)

    for leg in ("left", "right"):
        reps = [r for r in summary.get("reps", []) if leg in (r.get("legs") or [])]
        holds = [h for h in summary.get("holds", []) if h.get("leg") == leg]
        if not reps and not holds:
            continue
        for measure, v in _peaks(summary, leg).items():
            display, ucum, unit = VALGUS_MEASURES[measure]
            quantity = {"value": v["value"], "unit": unit, "system": UCUM, "code": ucum}
            more: dict[str, Any] = {}
            if v.get("limit") is not None:
                more["referenceRange"] = [{"high": {**quantity, "value": v["limit"]}, "text": "above this the knee is caving in"}]
            if v.get("valgus") is not None:
                flag = "H" if v["valgus"] else "N"
                more["interpretation"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}]
            add(f"peak-valgus-{measure}", "exam", {"valueQuantity": quantity}, leg, code_concept=_code(f"peak-valgus-{measure}", display), **more)
        if reps:
            flagged = sum(1 for r in reps if (r.get("verdict", {}).get(leg) or {}).get("valgus"))
            add("rep-count", "activity", {"valueInteger": len(reps)}, leg, code_concept=_code("rep-count", "Repetitions"))
            add("flagged-reps", "activity", {"valueInteger": flagged}, leg, code_concept=_code("flagged-reps", "Repetitions with the knee caving in"))
        if holds:
            held = round(sum(float(h.get("duration_s") or 0.0) for h in holds), 2)
            add("hold-time", "activity", {"valueQuantity": {"value": held, "unit": "s", "system": UCUM, "code": "s"}}, leg,
                code_concept=_code("hold-time", "Single-leg hold time"))  # fmt: skip
    for when_key, pain in (("pain-before", pain_before), ("pain-after", pain_after)):
        if pain is not None:
            label = "Pain before the session" if when_key == "pain-before" else "Pain after the session"
            add(when_key, "survey", {"valueInteger": int(pain)}, code_concept=_code(when_key, label, PAIN_LOINC))
    return out


def bundle(patient_id: str, observations: Iterable[dict[str, Any]], bundle_key: str) -> dict[str, Any]:
    """A collection Bundle: the Patient, then the Observations (each with a urn:uuid fullUrl)."""
    resources = [patient_resource(patient_id), *observations]
    return {
        "resourceType": "Bundle", "id": _uid("bundle", patient_id, bundle_key), "type": "collection",
        "timestamp": fhir_datetime(datetime.now()),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }  # fmt: skip


def session_bundle(summary: Mapping[str, Any], patient_id: str, when: str | datetime,
                   pain_before: int | None = None, pain_after: int | None = None) -> dict[str, Any]:  # fmt: skip
    obs = session_observations(summary, patient_id, when, pain_before, pain_after)
    return bundle(patient_id, obs, f"session|{fhir_datetime(when)}|{(summary.get('source') or {}).get('sha256')}")


def history_bundle(patient_id: str, sessions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """All of a patient's sessions (dicts with summary, recorded_at, pain_before, pain_after)."""
    obs: list[dict[str, Any]] = []
    for s in sessions:
        obs += session_observations(s["summary"], patient_id, s["recorded_at"], s.get("pain_before"), s.get("pain_after"))
    return bundle(patient_id, obs, "history")


def write_json(path: Path, resource: Mapping[str, Any]) -> Path:
    Path(path).write_text(json.dumps(resource, indent=2) + "\n", encoding="utf-8")
    return Path(path)
