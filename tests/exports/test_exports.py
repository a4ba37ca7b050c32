"""Exports of a real analysed clip (the real pose model), each read back by its reader: OpenSim's
own TRC and STO adapters, ezc3d, the csv module, and fhir.resources' FHIR R4 (R4B) models."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from formcheck.core.landmarks import PoseLandmark
from formcheck.errors import InputError
from formcheck.exports import FORMATS, parse_formats
from formcheck.exports.data import MARKER_NAMES, load_folder
from tests.conftest import SAMPLES, load_summary, run_cli

CLIP = SAMPLES / "squat_front.mp4"


@pytest.fixture(scope="module")
def folder(analyzed) -> Path:  # noqa: ANN001 - conftest.AnalyzedClips
    return analyzed(CLIP)


@pytest.fixture(scope="module")
def frames_csv(folder: Path) -> list[dict[str, str]]:
    with (folder / "frames.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _export(folder: Path, fmt: str, out: Path, *extra: str, env: dict | None = None) -> Path:
    proc = run_cli(["export", str(folder), "--to", fmt, "--out", str(out), *extra], None, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()
    return out


def _column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(r[name]) if r[name] else np.nan for r in rows])


def test_trc_reads_in_opensim_with_the_pose2sim_marker_names(folder: Path, tmp_path: Path):
    osim = pytest.importorskip("opensim")
    path = _export(folder, "trc", tmp_path / "squat.trc")
    table = osim.TimeSeriesTableVec3(str(path))
    summary = load_summary(folder)
    assert table.getNumRows() == summary["frames_analysed"]
    assert list(table.getColumnLabels()) == [MARKER_NAMES[p] for p in PoseLandmark]
    assert float(table.getTableMetaDataAsString("DataRate")) == pytest.approx(summary["source"]["fps"])
    assert table.getTableMetaDataAsString("Units") == "m"
    times = table.getIndependentColumn()
    assert times[1] - times[0] == pytest.approx(1 / 30, abs=1e-5)
    # Standing at the start: world landmarks in metres, Y up.
    row = table.getRowAtIndex(5)
    hip, knee, ankle = (np.array([row[table.getColumnIndex(n)][k] for k in range(3)]) for n in ("LHip", "LKnee", "LAnkle"))
    assert hip[1] > knee[1] > ankle[1]
    assert 0.25 < np.linalg.norm(hip - knee) < 0.6 and 0.25 < np.linalg.norm(knee - ankle) < 0.6


def test_mot_reads_in_opensim_with_the_angles_of_frames_csv(folder: Path, frames_csv, tmp_path: Path):
    osim = pytest.importorskip("opensim")
    table = osim.TimeSeriesTable(str(_export(folder, "mot", tmp_path / "squat.mot")))
    assert table.getTableMetaDataAsString("inDegrees") == "yes"
    labels = list(table.getColumnLabels())
    for side in "lr":
        assert {f"{a}_{side}" for a in ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "fppa", "frontal_shank")} <= set(labels)
    assert table.getNumRows() == len(frames_csv)
    # The same report-pass numbers as frames.csv (which rounds flexion to 0.1 and FPPA to 0.01 degrees).
    for mot, csv_name, tol in (("knee_flexion_l", "knee_flexion_left_deg", 0.051), ("knee_flexion_r", "knee_flexion_right_deg", 0.051),
                               ("fppa_l", "fppa_left_deg", 0.006), ("fppa_r", "fppa_right_deg", 0.006)):  # fmt: skip
        ours = table.getDependentColumn(mot).to_numpy()
        theirs = _column(frames_csv, csv_name)
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), mot
        assert np.nanmax(np.abs(ours - theirs)) <= tol, mot
    # The squat bends the knees: flexion passes 45 degrees, hips flex with them.
    assert np.nanmax(table.getDependentColumn("knee_flexion_l").to_numpy()) > 45
    assert np.nanmax(table.getDependentColumn("hip_flexion_r").to_numpy()) > 30


def test_c3d_round_trips_points_labels_and_rate(folder: Path, tmp_path: Path):
    ezc3d = pytest.importorskip("ezc3d")
    c3d = ezc3d.c3d(str(_export(folder, "c3d", tmp_path / "squat.c3d")))
    data = load_folder(folder)
    point = c3d["parameters"]["POINT"]
    assert point["RATE"]["value"][0] == pytest.approx(data.rate_hz)
    assert list(point["LABELS"]["value"]) == data.marker_names
    assert point["UNITS"]["value"] == ["m"]
    back = np.transpose(c3d["data"]["points"][:3], (2, 1, 0))
    assert back.shape == data.markers.shape
    assert np.allclose(back, data.markers, atol=1e-6, equal_nan=True)


def test_wide_csv_has_one_row_a_frame_with_named_landmarks_and_angles(folder: Path, frames_csv, tmp_path: Path):
    with _export(folder, "csv", tmp_path / "squat.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(frames_csv)
    assert list(rows[0])[:5] == ["frame", "time_s", "nose_x_m", "nose_y_m", "nose_z_m"]
    assert {"left_knee_x_m", "right_foot_index_z_m", "knee_flexion_l_deg", "fppa_r_deg"} <= set(rows[0])
    assert [r["frame"] for r in rows] == [r["frame"] for r in frames_csv]
    assert np.nanmax(np.abs(_column(rows, "knee_flexion_l_deg") - _column(frames_csv, "knee_flexion_left_deg"))) <= 0.06


def test_markers_fall_back_to_image_pixels_without_world_landmarks(folder: Path, tmp_path: Path):
    copy = tmp_path / "no-world"
    copy.mkdir()
    shutil.copy(folder / "summary.json", copy)
    records = np.load(folder / "landmarks.npy")
    records["world_xyz"] = 0.0
    np.save(copy / "landmarks.npy", records)
    data = load_folder(copy)
    assert data.units == "px"
    height = load_summary(folder)["source"]["height"]
    knee = data.markers[5, int(PoseLandmark.LEFT_KNEE)]
    assert 0 < knee[1] < height and knee[2] == 0
    assert data.markers[5, int(PoseLandmark.LEFT_HIP), 1] > knee[1]  # Y up


def _fhir_models():
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.patient import Patient

    return Bundle, Observation, Patient


def _validated(path: Path) -> dict:
    Bundle, Observation, Patient = _fhir_models()
    doc = json.loads(path.read_text())
    Bundle.model_validate(doc)
    assert doc["type"] == "collection"
    for entry in doc["entry"]:
        res = entry["resource"]
        {"Observation": Observation, "Patient": Patient}[res["resourceType"]].model_validate(res)
        assert entry["fullUrl"] == f"urn:uuid:{res['id']}"
    return doc


def _observations(doc: dict, code: str, leg: str | None = None) -> list[dict]:
    found = []
    for e in doc["entry"]:
        r = e["resource"]
        if r["resourceType"] != "Observation" or not any(c["code"] == code for c in r["code"]["coding"]):
            continue
        if leg is None or r.get("bodySite", {}).get("text") == f"{leg} knee":
            found.append(r)
    return found


def test_fhir_session_bundle_validates_and_carries_the_summary(folder: Path, tmp_path: Path):
    _fhir_models()
    env = {"FORMCHECK_DB": str(tmp_path / "store.db"), "FORMCHECK_HOME": str(tmp_path / "home")}
    assert run_cli(["patient", "add", "P7"], None, env_extra=env).returncode == 0
    proc = run_cli(["import", str(folder), "--patient", "P7", "--pain-before", "4", "--pain-after", "2"], None, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    doc = _validated(_export(folder, "fhir", tmp_path / "session.fhir.json", env=env))
    summary = load_summary(folder)
    patient = doc["entry"][0]["resource"]
    assert patient["resourceType"] == "Patient" and patient["identifier"][0]["value"] == "P7"
    for leg in ("left", "right"):
        legs_reps = [r for r in summary["reps"] if leg in r["legs"]]
        (reps,) = _observations(doc, "rep-count", leg)
        assert reps["valueInteger"] == len(legs_reps)
        assert reps["subject"]["reference"] == f"urn:uuid:{patient['id']}"
        (flagged,) = _observations(doc, "flagged-reps", leg)
        assert flagged["valueInteger"] == sum(bool(r["verdict"][leg]["valgus"]) for r in legs_reps)
        (peak,) = _observations(doc, "peak-valgus-fppa", leg)
        fppa = [r["verdict"][leg]["value"] for r in legs_reps if r["verdict"][leg]["measure"] == "fppa"]
        assert peak["valueQuantity"] == {"value": max(fppa), "unit": "deg", "system": "http://unitsofmeasure.org", "code": "deg"}
        assert peak["effectiveDateTime"][-6] in "+-"  # a time with its UTC offset
    (before,) = _observations(doc, "pain-before")
    assert before["valueInteger"] == 4 and before["code"]["coding"][0]["code"] == "72514-3"
    assert _observations(doc, "pain-after")[0]["valueInteger"] == 2

    # The patient's history from the session store, as report --out X.fhir.json writes it.
    out = tmp_path / "history.fhir.json"
    proc = run_cli(["report", "--patient", "P7", "--out", str(out)], None, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    history = _validated(out)
    assert len(history["entry"]) == len(doc["entry"])


def test_analyze_export_writes_into_the_output_folder(tmp_path: Path, model_path: Path):
    out = tmp_path / "clean"
    proc = run_cli(["analyze", str(SAMPLES / "squat_front_clean.mp4"), "--out", str(out), "--quiet", "--export", "trc,csv"], model_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "markers.trc").is_file() and (out / "keypoints.csv").is_file()
    # A re-run without --export leaves no export of the earlier run behind.
    proc = run_cli(["analyze", str(SAMPLES / "squat_front_clean.mp4"), "--out", str(out), "--quiet", "--no-video"], model_path)
    assert proc.returncode == 0, proc.stderr
    assert not (out / "markers.trc").exists() and not (out / "keypoints.csv").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["export", "{folder}", "--to", "obj", "--out", "{tmp}/x.obj"], "unknown export format obj"),
        (["export", "{tmp}", "--to", "trc", "--out", "{tmp}/x.trc"], "is not an output folder"),
        (["export", "{tmp}/missing", "--to", "trc", "--out", "{tmp}/x.trc"], "is not a folder"),
        (["export", "{folder}", "--to", "trc", "--out", "{tmp}/no/such/x.trc"], "is not a writable folder"),
        (["export", "{folder}", "--to", "trc", "--out", "{tmp}"], "is a folder"),
        (["export", "{folder}", "--to", "trc,mot", "--out", "{tmp}/x"], "one format"),
        (["analyze", "{clip}", "--export", "fhir"], "--export fhir needs --patient"),
        (["analyze", "{clip}", "--export", "mp3"], "unknown export format mp3"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, says, folder: Path, tmp_path: Path):
    subs = {"folder": str(folder), "tmp": str(tmp_path), "clip": str(CLIP)}
    proc = run_cli([a.format(**subs) for a in args], None, env_extra={"FORMCHECK_DB": str(tmp_path / "store.db")})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr
    assert not list(tmp_path.glob("x*"))


def test_a_missing_extra_names_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ezc3d" else real(name, *a))
    with pytest.raises(InputError, match=r"formcheck\[export\]"):
        parse_formats("trc,c3d")
    assert FORMATS["c3d"].needs == "ezc3d"


REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def _reference(name: str) -> Path:
    """A third-party reference file from the local cache (tests/reference/manifest.json says where
    it comes from; `python benchmarks/real_clips/restore.py --manifest tests/reference/manifest.json
    --cache <user cache>/formcheck/reference` puts it there from a fetched snapshot)."""
    from platformdirs import user_cache_dir

    path = Path(user_cache_dir("formcheck")) / "reference" / name
    if not path.is_file():
        pytest.skip(f"reference file {name} is not in the cache (see tests/reference/manifest.json)")
    return path


def _header(path: Path, lines: int) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return [fh.readline().rstrip("\n").split("\t") for _ in range(lines)]


def test_trc_is_laid_out_like_a_pose2sim_demo_file(folder: Path, tmp_path: Path):
    """Pose2Sim's own demo markers and ours: the same header rows, keys, marker spelling and axes."""
    osim = pytest.importorskip("opensim")
    theirs = _reference("pose2sim_Balancing_for_IK.trc")
    ours = _export(folder, "trc", tmp_path / "squat.trc")
    t_head, o_head = _header(theirs, 5), _header(ours, 5)
    assert o_head[0][:3] == t_head[0][:3] == ["PathFileType", "4", "(X/Y/Z)"]
    assert o_head[1] == t_head[1]  # DataRate CameraRate NumFrames NumMarkers Units OrigDataRate ...
    assert o_head[2][4] == t_head[2][4] == "m"
    assert o_head[3][:2] == t_head[3][:2] == ["Frame#", "Time"]
    assert o_head[4][2:5] == t_head[4][2:5] == ["X1", "Y1", "Z1"]
    t_table, o_table = osim.TimeSeriesTableVec3(str(theirs)), osim.TimeSeriesTableVec3(str(ours))
    shared = {"RHip", "RKnee", "RAnkle", "RBigToe", "RHeel", "LHip", "LKnee", "LAnkle", "LBigToe", "LHeel",
              "Nose", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist"}  # fmt: skip
    assert shared <= set(t_table.getColumnLabels()) and shared <= set(o_table.getColumnLabels())
    for table in (t_table, o_table):  # Y up, metres: hips above knees above ankles, a leg's length apart
        row = table.getRowAtIndex(0)
        hip, knee, ankle = (np.array([row[table.getColumnIndex(n)][k] for k in range(3)]) for n in ("RHip", "RKnee", "RAnkle"))
        assert hip[1] > knee[1] > ankle[1] and 0.5 < np.linalg.norm(hip - ankle) < 1.2


def test_mot_is_laid_out_like_a_pose2sim_demo_file(folder: Path, tmp_path: Path):
    """An OpenSim inverse-kinematics result from Pose2Sim's demo and our angles: the same header
    keys, degrees, a `time` column first, both read by OpenSim's table reader."""
    osim = pytest.importorskip("opensim")
    theirs = _reference("pose2sim_BalancingTrial_body25b.mot")
    ours = _export(folder, "mot", tmp_path / "squat.mot")

    def header(path: Path) -> tuple[dict[str, str], list[str]]:
        keys, lines = {}, path.read_text(encoding="utf-8").splitlines()
        end = lines.index("endheader")
        for line in lines[:end]:
            if "=" in line:
                k, v = line.split("=", 1)
                keys[k.strip()] = v.strip()
        return keys, lines[end + 1].split("\t")

    (t_keys, t_cols), (o_keys, o_cols) = header(theirs), header(ours)
    assert {"version", "nRows", "nColumns", "inDegrees"} <= set(t_keys) & set(o_keys)
    assert t_keys["inDegrees"] == o_keys["inDegrees"] == "yes"
    assert t_cols[0].strip() == o_cols[0].strip() == "time"
    for path, keys in ((theirs, t_keys), (ours, o_keys)):
        table = osim.TimeSeriesTable(str(path))
        assert table.getNumRows() == int(keys["nRows"]) and table.getNumColumns() + 1 == int(keys["nColumns"])
