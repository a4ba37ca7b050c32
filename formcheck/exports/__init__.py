"""Exports of an output folder for other tools: OpenSim (.trc markers, .mot angles), C3D, a wide
CSV for spreadsheets and Kinovea users, and FHIR R4 for clinics' record systems.

`FORMATS` is the registry (name -> what it writes); `export_folder` writes one format from a
folder. Each format's module is a pure function from arrays or dicts to a file.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from formcheck.core.landmarks import PoseLandmark
from formcheck.errors import InputError


@dataclass(frozen=True)
class Format:
    suffix: str
    what: str
    needs: str | None = None  # a module from the `export` extra


FORMATS: dict[str, Format] = {
    "trc": Format(".trc", "OpenSim markers"),
    "mot": Format(".mot", "OpenSim joint angles"),
    "c3d": Format(".c3d", "C3D markers", needs="ezc3d"),
    "csv": Format(".csv", "one row per frame: every landmark and angle"),
    "fhir": Format(".fhir.json", "FHIR R4 Bundle of Observations"),
}


def parse_formats(text: str) -> list[str]:
    """`trc,mot` -> ["trc", "mot"]; InputError naming the known formats for anything else."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InputError(f"unknown export format {', '.join(unknown) or repr(text)}: choose from {', '.join(FORMATS)}")
    for n in names:
        _require(n)
    return list(dict.fromkeys(names))


def _require(name: str) -> None:
    needs = FORMATS[name].needs
    if needs and importlib.util.find_spec(needs) is None:
        raise InputError(f"--to {name} needs {needs}: pip install 'formcheck[export]'")


def check_destination(dest: Path) -> None:
    """An --out that cannot be written fails before any work."""
    parent = dest.parent if str(dest.parent) else Path(".")
    if dest.is_dir():
        raise InputError(f"--out {dest} is a folder: name a file")
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {dest}: {parent} is not a writable folder")


def _recorded(folder: Path, patient: str | None) -> tuple[str | None, str | None, int | None, int | None]:
    """(patient, recorded_at, pain before, pain after) of the session store's record of `folder`."""
    from formcheck.clinic.store import Store, default_db_path

    if not default_db_path().exists():
        return patient, None, None, None
    target = folder.resolve()
    with Store() as store:
        ids = [patient] if patient else [p["id"] for p in store.patients()]
        found = [(s["recorded_at"], pid, s) for pid in ids for s in store.sessions(pid) if Path(s["out_dir"]).resolve() == target]
    if not found:
        return patient, None, None, None
    _, pid, s = max(found, key=lambda f: f[0])
    return pid, s["recorded_at"], s.get("pain_before"), s.get("pain_after")


def _fhir(folder: Path, dest: Path, patient: str | None) -> None:
    from formcheck.exports.fhir import session_bundle, write_json
    from formcheck.runs.run_folder import settle

    settle(folder)
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise InputError(f"{folder} is not an output folder of `formcheck analyze` or `live` (no summary.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    pid, when, before, after = _recorded(folder, patient)
    if pid is None:
        raise InputError(f"{folder} is not recorded for a patient: name one with --patient ID")
    write_json(dest, session_bundle(summary, pid, when or datetime.fromtimestamp(summary_path.stat().st_mtime), before, after))


def _writer(name: str) -> Callable[[Path, Path, str], None]:
    def write(folder: Path, dest: Path, final_name: str) -> None:
        from formcheck.exports.data import load_folder

        d = load_folder(folder)
        if name == "trc":
            from formcheck.exports.trc import write_trc

            write_trc(dest, d.t_s, d.markers, d.marker_names, d.rate_hz, d.units, final_name)
        elif name == "mot":
            from formcheck.exports.mot import write_mot

            write_mot(dest, d.t_s, d.angles)
        elif name == "c3d":
            from formcheck.exports.c3d import write_c3d

            write_c3d(dest, d.markers, d.marker_names, d.rate_hz, d.units)
        elif name == "csv":
            from formcheck.exports.csv_wide import write_wide_csv

            readable = [p.name.lower() for p in PoseLandmark]
            write_wide_csv(dest, d.t_s, d.frame_index, d.markers, readable, d.units, d.angles)

    return write


def default_name(name: str) -> str:
    """The file `analyze --export` writes into the output folder."""
    return {"trc": "markers", "mot": "angles", "c3d": "markers", "csv": "keypoints", "fhir": "session"}[name] + FORMATS[name].suffix


def export_folder(folder: Path, name: str, dest: Path, patient: str | None = None) -> Path:
    """Write format `name` of the output folder `folder` to `dest` (replaced whole, never half-written)."""
    folder, dest = Path(folder), Path(dest)
    parse_formats(name)
    check_destination(dest)
    tmp = dest.with_name(f".{dest.stem}.tmp{dest.suffix}")  # the suffix kept: ezc3d appends .c3d to any other
    try:
        if name == "fhir":
            _fhir(folder, tmp, patient)
        else:
            _writer(name)(folder, tmp, dest.name)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def export_patient_fhir(patient: str, dest: Path, since: str | None = None) -> int:
    """A patient's sessions in the session store as one FHIR Bundle; returns how many sessions."""
    from formcheck.exports.fhir import history_bundle, write_json
    from formcheck.clinic.store import Store

    dest = Path(dest)
    check_destination(dest)
    with Store() as store:
        store.require_patient(patient)
        sessions = [store.session(s["id"]) for s in store.sessions(patient, since)]
    tmp = dest.with_name(f".{dest.stem}.tmp{dest.suffix}")
    try:
        write_json(tmp, history_bundle(patient, [s for s in sessions if s is not None]))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return len(sessions)
