"""The session store: migrations, idempotent recording, transactions, concurrent writers, kill -9."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formcheck.clinic.store import (
    Store,
    StoreError,
    default_db_path,
    parse_safety,
    record_session,
    session_landings,
    session_plants,
    session_progressions,
    session_rom,
    session_slides,
    session_steps,
)
from formcheck.clinic.store.db import Migration, connect, migrate, schema_version
from formcheck.clinic.store.schema import LATEST, MIGRATIONS
from formcheck.errors import InputError


def _rep(i: int, start: float, valgus_right: bool = False, peak_right: float | None = 3.0) -> dict:
    return {
        "index": i, "start_s": start, "bottom_s": start + 0.8, "end_s": start + 1.6, "legs": ["left", "right"],
        "fppa_deg": {"left": 1.0, "right": 2.0}, "peak_fppa_deg": {"left": 2.5, "right": peak_right},
        "peak_shank_deg": {"left": -4.0, "right": 6.0}, "peak_knee_toe_offset": {"left": 0.01, "right": 0.2},
        "valgus": {"left": False, "right": valgus_right}, "valgus_basis": "fppa", "depth_deg": 50.0,
        "min_separation_ratio": 0.9, "start_frame": int(start * 30), "bottom_frame": int(start * 30) + 24,
        "end_frame": int(start * 30) + 48, "future_metric": 7,
    }  # fmt: skip


def rom_rep(i: int, start: float, rom: dict[str, tuple[float, float]]) -> dict:
    """A knee-rom rep as summary.json writes it: `rom` is {leg: (max flexion, fullest extension)}."""
    rep = _rep(i, start)
    rep.update(legs=list(rom), valgus={leg: False for leg in rom}, knee_rom={
        leg: {"max_flexion_deg": flex, "fullest_extension_deg": ext, "uncertainty_deg": 3.0, "measure": "image"}
        for leg, (flex, ext) in rom.items()
    })  # fmt: skip
    return rep


def hop_rep(i: int, start: float, peaks: dict[str, float], contact_time_s: float | None = 0.3) -> dict:
    """A hop landing as summary.json writes it: `peaks` is {leg: FPPA peak in the landing window},
    flagged at 10 degrees and above; FPPA at contact 5 degrees under the peak."""
    rep = _rep(i, start)
    at_contact = {leg: p - 5.0 for leg, p in peaks.items()}
    rep.update(legs=list(peaks), valgus={leg: p >= 10.0 for leg, p in peaks.items()}, fppa_deg=at_contact,
               peak_fppa_deg=dict(peaks), landing={
                   "contact_frame": int(start * 30), "contact_s": start, "contact_time_s": contact_time_s,
                   "window_end_frame": int(start * 30) + 3, "fppa_at_contact_deg": at_contact, "peak_fppa_window_deg": dict(peaks)})  # fmt: skip
    return rep


def step_rep(i: int, start: float, direction: str, separation: float, caved: str | None = None) -> dict:
    """A band-walk step as summary.json writes it (both knees judged at push-off)."""
    rep = rom_rep(i, start, {"left": (40.0, 30.0), "right": (40.0, 30.0)})
    del rep["knee_rom"]
    rep.update(valgus={"left": caved == "left", "right": caved == "right"},
               peak_fppa_deg={"left": 22.0 if caved == "left" else -3.0, "right": 22.0 if caved == "right" else -3.0},
               step={"direction": direction, "pushing_leg": "left" if direction == "right" else "right",
                     "push_off_frame": int(start * 30), "push_off_s": start, "window_end_frame": int(start * 30) + 6,
                     "fppa_at_push_off_deg": {"left": 1.0, "right": 1.0},
                     "peak_fppa_push_off_deg": {"left": 22.0 if caved == "left" else -3.0,
                                                "right": 22.0 if caved == "right" else -3.0},
                     "min_ankle_separation": separation, "min_separation_frame": int(start * 30) + 20,
                     "feet_too_close": separation < 0.8, "flexion_held_deg": 31.0})  # fmt: skip
    return rep


def slide_rep(i: int, start: float, slide_range: float, caved: bool = False, bent: str = "right") -> dict:
    """An adduction slide as summary.json writes it: the `bent` knee judged over the slide."""
    rep = rom_rep(i, start, {bent: (50.0, 25.0)})
    del rep["knee_rom"]
    rep.update(valgus={bent: caved}, peak_fppa_deg={bent: 19.5 if caved else -5.5},
               slide={"bent_leg": bent, "straight_leg": "left" if bent == "right" else "right", "start_frame": int(start * 30),
                      "closest_frame": int(start * 30) + 40, "range": slide_range, "start_separation": 0.81,
                      "min_separation": round(0.81 - slide_range, 3), "leg_px": 250.0})  # fmt: skip
    return rep


def plant_rep(i: int, start: float, peak: float, turn: float, leg: str = "right") -> dict:
    """A pivot as summary.json writes it: `peak` the planted knee's FPPA peak over the plant window
    (flagged above 10 degrees), 2 degrees more than at the plant; `turn` the trunk turn."""
    rep = rom_rep(i, start, {leg: (40.0, 25.0)})
    del rep["knee_rom"]
    rep.update(valgus={leg: peak > 10}, peak_fppa_deg={leg: peak},
               plant={"leg": leg, "plant_frame": int(start * 30), "plant_s": start, "window_end_frame": int(start * 30) + 6,
                      "fppa_at_plant_deg": peak - 2, "peak_fppa_plant_deg": peak, "turn_start_frame": int(start * 30) + 10,
                      "turn_end_frame": int(start * 30) + 30, "trunk_turn_deg": turn})  # fmt: skip
    return rep


def balance_hold(start: float, duration: float, progression: str | None, tiptoe_share: float = 0.0, heel_rise: float = 0.0,
                 head_turns: int = 0, reach_list: list[dict] | None = None, sway: float = 0.004, leg: str = "right") -> dict:
    """A balance hold as summary.json writes it, with its progression block (reporting/outputs.py);
    `progression` None: a hold from before progressions were named (no progression keys)."""
    reach_list = reach_list or []
    hold = {"leg": leg, "start_s": start, "end_s": start + duration, "duration_s": duration, "touchdowns": 0,
            "touchdown_s": [], "peak_fppa_deg": -2.0, "valgus": False, "sway": sway, "knee_sway": 0.005}  # fmt: skip
    if progression is not None:
        hold.update(progression=progression, tiptoe_share=tiptoe_share, heel_rise=heel_rise, head_turns=head_turns,
                    head_turn_max_deg=45.0 if head_turns else 4.0, reaches=len(reach_list),
                    reach_max=max((r["distance"] for r in reach_list), default=None), reach_list=reach_list)  # fmt: skip
    return hold


def make_out_dir(
    path: Path, reps: list[dict] | None = None, tag: str = "", thresholds: dict | None = None, exercise: str = "squat",
    holds: list[dict] | None = None,
) -> Path:
    """A minimal formcheck output folder (summary.json schema 1) without running the model;
    `thresholds` adds to (or replaces) the summary's thresholds."""
    path.mkdir(parents=True, exist_ok=True)
    reps = reps if reps is not None else [_rep(1, 1.0), _rep(2, 3.0, True, 14.0), _rep(3, 20.0)]
    summary = {
        "schema_version": 1, "exercise": exercise, "partial": False,
        "source": {"path": f"clip{tag}.mp4", "fps": 30.0, "frame_count": 900, "width": 640, "height": 480, "duration_s": 30.0},
        "model": {"name": "pose_landmarker_full", "sha256": "x"}, "view": "frontal", "pose_coverage": 0.99,
        "baseline_fppa_deg": {"left": 1.0, "right": -0.5},
        "thresholds": {"valgus_fppa_deg": 10.0, "valgus_shank_deg": 10.0, "valgus_knee_toe": 0.3, **(thresholds or {})},
        "rep_count": len(reps), "reps": reps, "holds": holds or [], "warnings": [],
    }  # fmt: skip
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "frames.csv").write_text("frame,t_s\n")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db" / "formcheck.db")
    s.add_patient("P1", "Ann Example")
    yield s
    s.close()


def test_default_path_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FORMCHECK_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("FORMCHECK_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_db_path() == tmp_path / "xdg" / "formcheck" / "formcheck.db"


def test_fresh_database_is_at_latest_version_with_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as s:
        assert schema_version(s.conn) == LATEST == len(MIGRATIONS)
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_upgrade_from_version_1_keeps_data(tmp_path: Path) -> None:
    conn = connect(tmp_path / "old.db")
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.execute("INSERT INTO patients (id, name, created_at) VALUES ('P9', 'Old', '2024-01-01T00:00:00')")
    conn.close()
    with Store(tmp_path / "old.db") as s:
        assert schema_version(s.conn) == LATEST
        assert s.patient("P9")["name"] == "Old"
        s.set_setting("k", "v")  # the table version 2 added
        assert s.setting("k") == "v"


def test_upgrade_from_version_2_keeps_thresholds_and_moves_rep_knee_toe_change(tmp_path: Path) -> None:
    """A database at version 2 (before the knee-to-toe change settings) opens, migrates and keeps
    its rows; a rep recorded then with `peak_knee_toe_change` (kept in extra_json) gets its columns."""
    path = tmp_path / "v2.db"
    conn = connect(path)
    assert migrate(conn, MIGRATIONS[:2]) == 2
    conn.executescript(
        """INSERT INTO patients (id, name, created_at) VALUES ('P9', 'Old', '2024-01-01T00:00:00');
           INSERT INTO patient_thresholds (patient_id, valgus_fppa_deg, valgus_knee_toe, baseline_relative, updated_at)
           VALUES ('P9', 12.5, 0.25, 1, '2024-01-01T00:00:00');
           INSERT INTO sessions (id, patient_id, content_sha256, out_dir, exercise, recorded_at, imported_at, partial,
               rep_count, hold_count, thresholds_json, warnings_json, summary_json)
           VALUES (1, 'P9', 'x', '/tmp/x', 'squat', '2024-01-02T00:00:00', '2024-01-02T00:00:00', 0, 2, 0, '{}', '[]', '{}');
           INSERT INTO session_sets (id, session_id, set_no, rep_count) VALUES (1, 1, 1, 2);
           INSERT INTO reps (session_id, set_id, rep_index, legs, peak_knee_toe_right, extra_json) VALUES
               (1, 1, 1, 'left,right', 0.31, '{"peak_knee_toe_change": {"left": -0.01, "right": 0.07}, "future_metric": 7}'),
               (1, 1, 2, 'left,right', 0.12, '{}');"""
    )  # fmt: skip
    conn.close()
    with Store(path) as s:
        assert schema_version(s.conn) == LATEST
        assert s.patient("P9")["name"] == "Old"
        assert s.thresholds("P9") == {"valgus_fppa_deg": 12.5, "valgus_knee_toe": 0.25, "baseline_relative": True}
        eff = s.effective_thresholds("P9")
        assert (eff["knee_toe_from_standing"], eff["valgus_knee_toe_change"]) == (True, 0.04)  # the defaults
        r1, r2 = s.reps(1)
        assert (r1["peak_knee_toe_change_left"], r1["peak_knee_toe_change_right"], r1["peak_knee_toe_right"]) == (-0.01, 0.07, 0.31)
        assert json.loads(r1["extra_json"]) == {"future_metric": 7}
        assert (r2["peak_knee_toe_change_left"], r2["peak_knee_toe_change_right"], r2["extra_json"]) == (None, None, "{}")
        s.set_thresholds("P9", {"knee_toe_from_standing": False, "valgus_knee_toe_change": 0.06})
        assert s.thresholds("P9")["valgus_fppa_deg"] == 12.5  # the old values stay
        assert s.integrity_problems() == []


def test_newer_database_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "new.db")
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path / "new.db")


def test_failed_migration_rolls_back_to_previous_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "m.db")
    bad = (*MIGRATIONS, Migration(LATEST + 1, "broken", "CREATE TABLE t (a INTEGER);\nINSERT INTO nope VALUES (1);"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, bad)
    assert schema_version(conn) == LATEST
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0] == 0  # no half step


def test_record_keeps_every_rep_metric_and_sets(store: Store, tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "s1")
    rec = store.record_session(out, "P1", recorded_at="2025-03-01", pain_before=4, pain_after=2,
                               safety={"severe_pain": False, "swelling": True})  # fmt: skip
    assert rec.created
    sess = store.sessions("P1")
    assert len(sess) == 1 and sess[0]["recorded_at"] == "2025-03-01T00:00:00" and sess[0]["flagged_reps"] == 1
    assert (sess[0]["pain_before"], sess[0]["pain_after"]) == (4, 2)
    reps = store.reps(rec.session_id)
    assert [r["rep_index"] for r in reps] == [1, 2, 3]
    r2 = reps[1]
    assert (r2["peak_fppa_right_deg"], r2["peak_shank_right_deg"], r2["peak_knee_toe_right"]) == (14.0, 6.0, 0.2)
    assert (r2["valgus_right"], r2["valgus_left"], r2["valgus_basis"], r2["start_frame"]) == (1, 0, "fppa", 90)
    assert json.loads(r2["extra_json"]) == {"future_metric": 7}
    # rep 3 starts 17 s after rep 2 ends: a new set
    assert [r["set_no"] for r in reps] == [1, 1, 2]
    assert [s["rep_count"] for s in store.sets(rec.session_id)] == [2, 1]
    assert set(store.files(rec.session_id)) == {"summary", "frames"}
    assert store.safety_concerns("P1") == ["Is the knee very swollen?"]


def test_knee_rom_per_rep_and_best_per_session(store: Store, tmp_path: Path) -> None:
    reps = [rom_rep(1, 1.0, {"left": (95.0, 12.0)}), rom_rep(2, 4.0, {"left": (101.5, 14.0)}),
            rom_rep(3, 7.0, {"left": (99.0, 8.5)})]  # fmt: skip
    reps[2]["knee_rom"]["left"].update(uncertainty_deg=6.5, measure="world")
    sid = store.record_session(make_out_dir(tmp_path / "rom", reps, exercise="knee-rom"), "P1").session_id
    stored = store.reps(sid)
    assert stored[1]["knee_rom"]["left"]["max_flexion_deg"] == 101.5 and "right" not in stored[1]["knee_rom"]
    assert session_rom(stored) == {"left": {
        "reps": 3,
        "max_flexion": {"deg": 101.5, "uncertainty_deg": 3.0, "measure": "image", "rep_index": 2},
        "fullest_extension": {"deg": 8.5, "uncertainty_deg": 6.5, "measure": "world", "rep_index": 3},
    }}  # fmt: skip
    squat = store.record_session(make_out_dir(tmp_path / "squat"), "P1").session_id
    assert session_rom(store.reps(squat)) == {} and store.reps(squat)[0]["knee_rom"] == {}


def test_hop_landings_per_leg_and_steps_separation_per_session(store: Store, tmp_path: Path) -> None:
    """summary.json's landing block is kept in extra_json (no migration) and read back per leg;
    a value that is not a number (a hand-edited or damaged summary) is left out, not a crash."""
    reps = [hop_rep(1, 1.0, {"left": 4.0, "right": 12.0}), hop_rep(2, 2.0, {"left": 11.0, "right": 0.0}, contact_time_s=None),
            hop_rep(3, 3.0, {"right": 6.0})]  # fmt: skip
    reps[2]["landing"]["peak_fppa_window_deg"]["right"] = "n/a"
    sid = store.record_session(make_out_dir(tmp_path / "hop", reps, exercise="hop"), "P1").session_id
    stored = store.reps(sid)
    assert stored[0]["landing"]["contact_time_s"] == 0.3 and stored[0]["step"] is None
    assert session_landings(stored) == {"landings": 3, "contact_time_s": [0.3, 0.3], "legs": {
        "left": {"judged": 2, "flagged": 1, "peak_fppa_deg": [4.0, 11.0], "fppa_at_contact_deg": [-1.0, 6.0]},
        "right": {"judged": 3, "flagged": 1, "peak_fppa_deg": [12.0, 0.0], "fppa_at_contact_deg": [7.0, -5.0, 1.0]},
    }}  # fmt: skip
    squat = store.record_session(make_out_dir(tmp_path / "squat"), "P1").session_id
    assert session_landings(store.reps(squat)) is None and store.reps(squat)[0]["landing"] is None
    steps = [step_rep(1, 2.0, "right", 1.3), step_rep(2, 3.3, "left", 0.5), step_rep(3, 4.6, "left", 1.0)]
    st = session_steps(store.reps(store.record_session(make_out_dir(tmp_path / "bw", steps, exercise="band-walk"), "P1").session_id))
    assert (st["narrowest_separation"], st["median_separation"], st["separations"], st["too_close"]) == (0.5, 1.0, 3, 1)


def test_slides_plants_and_hold_progressions_per_session(store: Store, tmp_path: Path) -> None:
    """summary.json's slide and plant blocks and each hold's progression are kept in extra_json (no
    migration) and read back per session; a value that is not a number is left out, not a crash."""
    slides = [slide_rep(1, 3.0, 0.37), slide_rep(2, 6.0, 0.36, caved=True), slide_rep(3, 9.0, 0.30), slide_rep(4, 12.0, 0.2, bent="left")]
    slides[2]["slide"]["range"] = "n/a"
    slid = store.reps(store.record_session(make_out_dir(tmp_path / "sl", slides, exercise="adduction-slide"), "P1").session_id)
    assert slid[0]["slide"]["straight_leg"] == "left" and slid[0]["plant"] is None and slid[0]["step"] is None
    assert session_slides(slid) == {"slides": 4, "legs": {
        "left": {"slides": 1, "ranges": [0.2], "judged": 1, "flagged": 0},
        "right": {"slides": 3, "ranges": [0.37, 0.36], "judged": 3, "flagged": 1},
    }}  # fmt: skip
    plants = [plant_rep(1, 2.0, -1.0, 43.0), plant_rep(2, 7.0, 16.5, 45.0), plant_rep(3, 12.0, 3.0, 41.0, leg="left")]
    plants[0]["plant"]["trunk_turn_deg"] = None
    stored = store.reps(store.record_session(make_out_dir(tmp_path / "pv", plants, exercise="pivot"), "P1").session_id)
    assert session_plants(stored) == {"plants": 3, "legs": {
        "left": {"plants": 1, "judged": 1, "flagged": 0, "peak_fppa_deg": [3.0], "fppa_at_plant_deg": [1.0], "trunk_turn_deg": [41.0]},
        "right": {"plants": 2, "judged": 2, "flagged": 1, "peak_fppa_deg": [-1.0, 16.5], "fppa_at_plant_deg": [-3.0, 14.5],
                  "trunk_turn_deg": [45.0]},
    }}  # fmt: skip
    assert session_slides(stored) is None and session_plants(slid) is None
    holds = [balance_hold(20.0, 8.0, "tiptoes", sway=0.006), balance_hold(2.0, 12.0, "flat", sway=0.003),
             balance_hold(40.0, 5.5, "tiptoes+reaches", leg="left"), balance_hold(30.0, 9.0, "tiptoes", sway=0.008),
             balance_hold(50.0, 4.0, None)]  # fmt: skip
    sid = store.record_session(make_out_dir(tmp_path / "bal", [], exercise="balance", holds=holds), "P1").session_id
    assert [h["progression"] for h in store.holds(sid)] == ["flat", "tiptoes", "tiptoes", "tiptoes+reaches", None]
    assert session_progressions(store.holds(sid)) == {
        "flat": {"holds": 1, "seconds": 12.0, "longest": 12.0, "sway": [0.003], "legs": {"right": 1}},
        "tiptoes": {"holds": 2, "seconds": 17.0, "longest": 9.0, "sway": [0.006, 0.008], "legs": {"right": 2}},
        "tiptoes+reaches": {"holds": 1, "seconds": 5.5, "longest": 5.5, "sway": [0.004], "legs": {"left": 1}},
        None: {"holds": 1, "seconds": 4.0, "longest": 4.0, "sway": [0.004], "legs": {"right": 1}},
    }
    assert list(session_progressions(store.holds(sid))) == ["flat", "tiptoes", "tiptoes+reaches", None]
    assert session_progressions([]) == {}


def test_reimport_does_not_duplicate(store: Store, tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "s1")
    first = store.record_session(out, "P1", recorded_at="2025-03-01")
    again = store.record_session(out, "P1", pain_after=1)
    assert (again.session_id, again.created) == (first.session_id, False)
    assert len(store.sessions("P1")) == 1 and len(store.reps(first.session_id)) == 3
    assert store.sessions("P1")[0]["pain_after"] == 1  # details given on re-import are kept
    # the same folder re-analysed (different contents): replaced in place, same id, date kept
    make_out_dir(out, [_rep(1, 1.0)])
    third = store.record_session(out, "P1")
    assert (third.session_id, third.replaced) == (first.session_id, True)
    assert len(store.reps(first.session_id)) == 1 and store.sessions("P1")[0]["recorded_at"] == "2025-03-01T00:00:00"
    assert store.integrity_problems() == []


def test_bad_inputs_change_nothing(store: Store, tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "s1")
    with pytest.raises(InputError, match="no patient"):
        store.record_session(out, "NOPE")
    with pytest.raises(InputError, match="0 to 10"):
        store.record_session(out, "P1", pain_before=11)
    with pytest.raises(InputError, match="summary.json"):
        store.record_session(tmp_path, "P1")
    with pytest.raises(InputError, match="patient ID"):
        store.add_patient("../etc")
    with pytest.raises(InputError, match="either reps or a hold"):
        store.set_prescription("P1", "squat", 3)
    with pytest.raises(InputError, match="yes or no"):
        parse_safety(["swelling=maybe"])
    assert store.sessions("P1") == []


def test_failure_mid_transaction_leaves_no_half_session(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = make_out_dir(tmp_path / "s1")
    calls = {"n": 0}
    original = Store._insert_rep

    def failing(self, sid, set_id, rep):  # the third rep fails to write
        calls["n"] += 1
        if calls["n"] == 3:
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        return original(self, sid, set_id, rep)

    monkeypatch.setattr(Store, "_insert_rep", failing)
    with pytest.raises(sqlite3.OperationalError):
        store.record_session(out, "P1")
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM reps").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM session_sets").fetchone()[0] == 0
    monkeypatch.setattr(Store, "_insert_rep", original)
    assert store.record_session(out, "P1").created


def test_prescription_and_thresholds(store: Store) -> None:
    store.set_prescription("P1", "squat", 3, reps=8, per_week=4)
    store.set_prescription("P1", "balance", 3, hold_s=30)
    store.set_prescription("P1", "squat", 2, reps=10)  # change, not add
    store.set_prescription("P1", "knee-rom", 2, reps=10)  # every registered exercise may be prescribed
    with pytest.raises(InputError, match="unknown exercise 'auto'"):  # recognising one is not an exercise
        store.set_prescription("P1", "auto", 2, reps=10)
    store.remove_prescription("P1", "knee-rom")
    rx = {p["exercise"]: p for p in store.prescriptions("P1")}
    assert (rx["squat"]["sets"], rx["squat"]["reps"], rx["squat"]["per_week"]) == (2, 10, 3)
    assert rx["balance"]["hold_s"] == 30 and rx["balance"]["reps"] is None
    assert store.thresholds("P1") == {}
    store.set_thresholds("P1", {"valgus_fppa_deg": 12.5})
    store.set_thresholds("P1", {"valgus_knee_toe": 0.25})
    assert store.thresholds("P1") == {"valgus_fppa_deg": 12.5, "valgus_knee_toe": 0.25}
    assert store.effective_thresholds("P1")["valgus_shank_deg"] == 10.0
    store.set_thresholds("P1", {"valgus_fppa_deg": None})
    assert store.thresholds("P1") == {"valgus_knee_toe": 0.25}


def test_knee_toe_change_thresholds_apply_to_sessions(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The change-from-standing settings are stored, validated, merged, and reach the Config that
    `analyze/live --patient` (cli._config) and the dashboard's jobs score with (config.effective_config)."""
    from formcheck.cli import _config
    from formcheck.config import effective_config

    store.set_thresholds("P1", {"valgus_knee_toe_change": 0.06})
    store.set_thresholds("P1", {"knee_toe_from_standing": False})
    assert store.thresholds("P1") == {"valgus_knee_toe_change": 0.06, "knee_toe_from_standing": False}
    eff = store.effective_thresholds("P1")
    assert (eff["valgus_knee_toe_change"], eff["knee_toe_from_standing"], eff["valgus_knee_toe"]) == (0.06, False, 0.3)
    for bad in ({"valgus_knee_toe_change": 0}, {"valgus_knee_toe_change": -0.1}, {"valgus_knee_toe_change": True},
                {"valgus_knee_toe_change": float("nan")}, {"knee_toe_from_standing": "yes"}, {"knee_toe_from_standing": 1}):  # fmt: skip
        with pytest.raises(InputError, match="threshold"):
            store.set_thresholds("P1", bad)
    assert store.thresholds("P1") == {"valgus_knee_toe_change": 0.06, "knee_toe_from_standing": False}  # unchanged
    th = effective_config(patient=store.thresholds("P1")).thresholds  # the dashboard's jobs
    assert (th.knee_toe_from_standing, th.valgus_knee_toe_change, th.valgus_fppa_deg) == (False, 0.06, 10.0)
    monkeypatch.setenv("FORMCHECK_DB", str(store.path))
    th = _config(None, 12.0, False, "P1").thresholds  # analyze/live --patient
    assert (th.knee_toe_from_standing, th.valgus_knee_toe_change, th.valgus_fppa_deg) == (False, 0.06, 12.0)
    store.set_thresholds("P1", {"knee_toe_from_standing": None})  # back to the default
    assert _config(None, None, False, "P1").thresholds.knee_toe_from_standing is True


def test_patient_thresholds_command_sets_the_knee_toe_change_settings(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    env = {"FORMCHECK_DB": str(tmp_path / "cli.db")}
    assert run_cli(["patient", "add", "P1"], None, env_extra=env).returncode == 0
    proc = run_cli(["patient", "thresholds", "P1", "--valgus-knee-toe-change", "0.05", "--knee-toe-offset"], None, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    assert "valgus_knee_toe_change = 0.05" in proc.stdout and "knee_toe_from_standing = False" in proc.stdout
    proc = run_cli(["patient", "thresholds", "P1", "--knee-toe-from-standing"], None, env_extra=env)
    assert "knee_toe_from_standing = True" in proc.stdout and "valgus_knee_toe_change = 0.05" in proc.stdout
    proc = run_cli(["patient", "thresholds", "P1", "--valgus-knee-toe-change", "-1"], None, env_extra=env)
    assert proc.returncode == 2 and "valgus_knee_toe_change must be a finite number, more than zero" in proc.stderr
    with Store(tmp_path / "cli.db") as s:
        assert s.thresholds("P1") == {"valgus_knee_toe_change": 0.05, "knee_toe_from_standing": True}


def test_rep_knee_toe_change_gets_its_columns(store: Store, tmp_path: Path) -> None:
    reps = [{**_rep(1, 1.0), "peak_knee_toe_change": {"left": -0.02, "right": 0.05}}, _rep(2, 3.0)]
    rec = store.record_session(make_out_dir(tmp_path / "s", reps), "P1")
    r1, r2 = store.reps(rec.session_id)
    assert (r1["peak_knee_toe_change_left"], r1["peak_knee_toe_change_right"]) == (-0.02, 0.05)
    assert json.loads(r1["extra_json"]) == {"future_metric": 7}
    assert (r2["peak_knee_toe_change_left"], r2["peak_knee_toe_change_right"]) == (None, None)  # older summary.json


def _writer(db: str, root: str, worker: int, n: int) -> None:
    for k in range(n):
        out = make_out_dir(Path(root) / f"w{worker}-{k}", tag=f"{worker}-{k}")
        record_session(out, "P1", db=db, recorded_at=f"2025-01-{k + 1:02d}")


def test_concurrent_writers(store: Store, tmp_path: Path) -> None:
    """Four processes record at once into one file: none fails on a lock, none is lost."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(store.path), str(tmp_path), w, 5)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert len(store.sessions("P1")) == 20
    assert store.conn.execute("SELECT count(*) FROM reps").fetchone()[0] == 60
    assert store.integrity_problems() == []


_KILL_CHILD = r"""
import sys, time
from pathlib import Path
from formcheck.clinic.store import Store
sys.path.insert(0, sys.argv[3])
from tests.clinic.test_store import make_out_dir, _rep
store = Store(sys.argv[1])
original = Store._insert_rep
def slow(self, sid, set_id, rep):
    original(self, sid, set_id, rep)
    if rep["index"] == 20:  # half-way through the session's reps: tell the parent, then dawdle
        Path(sys.argv[2]).write_text("mid")
        time.sleep(60)
Store._insert_rep = slow
reps = [_rep(i, 2.0 * i) for i in range(1, 41)]
store.record_session(make_out_dir(Path(sys.argv[2]).parent / "big", reps), "P1")
"""


def test_kill_9_mid_recording_leaves_database_consistent(store: Store, tmp_path: Path) -> None:
    store.record_session(make_out_dir(tmp_path / "before"), "P1", recorded_at="2025-01-01")
    marker = tmp_path / "marker"
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(store.path), str(marker), str(repo)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "child ended before reaching the middle of the session"
            assert time.monotonic() < deadline, "child never reached the middle of the session"
            time.sleep(0.05)
        # the child holds the write lock with 20 of 40 reps written
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Store(store.path) as after:
        assert after.integrity_problems() == []
        assert len(after.sessions("P1")) == 1  # the earlier session only, no half session
        assert after.conn.execute("SELECT count(*) FROM reps").fetchone()[0] == 3
        # and the store is writable again at once (the dead writer's lock is gone)
        assert after.record_session(tmp_path / "big", "P1").created
        assert after.integrity_problems() == []
        assert after.conn.execute("SELECT count(*) FROM reps").fetchone()[0] == 43


def test_squat_knee_toe_limit_is_a_patient_threshold_that_reaches_squats_only(store: Store, tmp_path: Path) -> None:
    """The two-footed squat's absolute knee-to-toe limit is stored per patient (schema 5), and
    reaches the squat's thresholds (`Tracker.thresholds`) but not a lunge's."""
    from formcheck.config import effective_config
    from formcheck.trackers import tracker_class
    from tests.conftest import run_cli

    store.set_thresholds("P1", {"valgus_knee_toe_squat": 0.25})
    th = effective_config(patient=store.thresholds("P1")).thresholds
    squat, lunge = tracker_class("squat")().thresholds(th), tracker_class("lunge")().thresholds(th)
    assert (squat.valgus_knee_toe, squat.knee_toe_gate) == (0.25, True)
    assert (lunge.valgus_knee_toe, lunge.knee_toe_gate) == (0.3, False)
    env = {"FORMCHECK_DB": str(tmp_path / "cli.db")}
    assert run_cli(["patient", "add", "P1"], None, env_extra=env).returncode == 0
    proc = run_cli(["patient", "thresholds", "P1", "--valgus-knee-toe-squat", "0.22"], None, env_extra=env)
    assert proc.returncode == 0 and "valgus_knee_toe_squat = 0.22" in proc.stdout, proc.stderr
    proc = run_cli(["patient", "thresholds", "P1", "--valgus-knee-toe-squat", "0"], None, env_extra=env)
    assert proc.returncode == 2 and "valgus_knee_toe_squat" in proc.stderr
