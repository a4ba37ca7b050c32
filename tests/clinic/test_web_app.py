"""Dashboard security and forms through Flask's test client (no browser, no model run)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from formcheck.clinic.store import Store
from formcheck.errors import InputError
from formcheck.trackers import tracker_names
from formcheck.web.app import create_app
from formcheck.web.auth import is_loopback, set_password
from tests.conftest import SAMPLES, run_cli
from tests.clinic.test_store import balance_hold, hop_rep, make_out_dir, plant_rep, rom_rep, slide_rep, step_rep


class _FakeModel:  # uploads need a model; these tests stop before analysis or never reach it
    path = Path("/nonexistent.task")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path)


def make_db(tmp_path: Path) -> Path:
    """A store with patient P1 and one recorded session."""
    path = tmp_path / "formcheck.db"
    with Store(path) as s:
        s.add_patient("P1", "Ann")
        s.record_session(make_out_dir(tmp_path / "s1"), "P1", recorded_at="2025-03-01", pain_before=2, pain_after=3)
    return path


def _client(db: Path, tmp_path: Path, **kw):
    app = create_app(db, tmp_path / "data", model=_FakeModel(), **kw)
    app.extensions["formcheck_jobs"].submit = lambda job: job  # never analyse in these tests
    client = app.test_client()
    client.get("/")
    with client.session_transaction() as s:
        token = s.get("csrf")
    return app, client, token


def test_pages_render(db: Path, tmp_path: Path) -> None:
    _, c, _ = _client(db, tmp_path)
    assert b'data-patient="P1"' in c.get("/").data
    page = c.get("/patients/P1").data.decode()
    assert "Valgus trend" in page and "prescription-form" in page
    assert b'id="rep-2"' in c.get("/sessions/1").data
    assert c.get("/sessions/999").status_code == 404
    assert c.get("/patients/..%2F..%2Fetc").status_code in (400, 404)
    assert c.get("/sessions/1/video.webm").status_code == 404  # no annotated video in this session


def test_knee_rom_on_the_patient_and_session_pages_and_every_exercise_prescribable(db: Path, tmp_path: Path) -> None:
    reps = [rom_rep(1, 1.0, {"left": (90.0, 12.0), "right": (110.0, 3.0)}), rom_rep(2, 5.0, {"left": (96.5, 14.0)})]
    with Store(db) as s:
        sid = s.record_session(make_out_dir(tmp_path / "rom", reps, tag="rom", exercise="knee-rom"), "P1",
                               recorded_at="2025-03-02").session_id  # fmt: skip
    _, c, _ = _client(db, tmp_path)
    page = c.get("/patients/P1").data.decode()
    assert "Knee range of motion per leg" in page and 'id="rom"' in page and "96.5" in page
    form = page[page.index('id="prescription-form"'):]
    offered = set(re.findall(r"<option>([^<]+)</option>", form[: form.index("</select>")]))
    assert offered == set(tracker_names()) - {"auto"} and "knee-rom" in offered
    session = c.get(f"/sessions/{sid}").data.decode()
    assert session.count('class="rep-row rom-row"') == 3  # rep 1 both legs, rep 2 the left
    assert re.search(r'data-leg="left"><th colspan="3">left: best of 2 reps</th>\s*<th>96.5</th><th>12.0</th>', session)
    assert 'id="rom-reps"' not in c.get("/sessions/1").data.decode()  # a squat session has none


def test_band_walk_session_page_lists_steps_and_separation(db: Path, tmp_path: Path) -> None:
    reps = [step_rep(1, 2.0, "right", 1.3), step_rep(2, 3.3, "right", 0.42, caved="left"), step_rep(3, 4.6, "left", 1.25)]
    with Store(db) as s:
        sid = s.record_session(make_out_dir(tmp_path / "bw", reps, tag="bw", exercise="band-walk",
                                            thresholds={"band_min_ankle_separation": 0.8}), "P1",
                               recorded_at="2025-03-03").session_id  # fmt: skip
    _, c, _ = _client(db, tmp_path)
    page = c.get(f"/sessions/{sid}").data.decode()
    assert page.count('class="rep-row step-row') == 3 and page.count("step-row flagged") == 1
    summary = re.sub(r"\s+", " ", page[page.index('id="steps-summary"'):page.index("</p>", page.index('id="steps-summary"'))])
    assert "3 steps: 1 to the left, 2 to the right" in summary
    assert "push-offs caving: left 1 of 3, right 0 of 3" in summary
    assert "narrowest feet 0.42 hip widths, 1 step too close (limit 0.8)" in summary
    assert 'id="step-reps"' not in c.get("/sessions/1").data.decode()  # a squat session has none


def test_patient_page_shows_landing_valgus_and_sideways_steps_and_refuses_bad_input(db: Path, tmp_path: Path) -> None:
    with Store(db) as s:
        for k, peaks in enumerate(([4.0, 12.0, 5.0], [3.0, 2.0, 0.0])):
            reps = [hop_rep(i + 1, 1.0 + 0.8 * i, {"left": p, "right": p + 3.0}) for i, p in enumerate(peaks)]
            s.record_session(make_out_dir(tmp_path / f"hop{k}", reps, tag=f"hop{k}", exercise="hop"), "P1",
                             recorded_at=f"2025-03-{2 + 7 * k:02d}")  # fmt: skip
        steps = [step_rep(1, 2.0, "right", 1.3), step_rep(2, 3.3, "right", 0.42, caved="left"), step_rep(3, 4.6, "left", 1.25)]
        s.record_session(make_out_dir(tmp_path / "bw", steps, tag="bw", exercise="band-walk"), "P1", recorded_at="2025-03-03")
    _, c, _ = _client(db, tmp_path)
    resp = c.get("/patients/P1")
    page = resp.data.decode()
    assert resp.status_code == 200 and "Landing valgus per leg (hop)" in page and 'id="landings"' in page
    assert re.search(r'data-leg="left" data-row="flagged"><td>left</td><td>landings flagged</td>\s*<td>1 of 3 \(33%\)</td><td>0 of 3 \(0%\)</td>', page)
    assert 'id="steps-band-walk"' in page and "1 of 3 (33%)" in page and "narrowest 0.42; limit 0.8" in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # every chart's ids prefixed apart
    assert not re.search(r"<svg[^>]*\sstyle=|<(?:path|g|text)[^>]*\sstyle=", page)  # the CSP allows no inline styles
    assert "Sideways steps" not in c.get("/patients/P1?since=2025-03-05").data.decode()  # the period holds no band walk
    for bad in ("/patients/P1?since=yesterday", "/patients/P1?since=2025-13-40", "/patients/P1?since=%00"):
        r = c.get(bad)
        assert r.status_code == 400 and b"Traceback" not in r.data, bad


def test_patient_page_shows_pivots_slides_and_balance_progressions(db: Path, tmp_path: Path) -> None:
    """The report's pivot, slide and balance trends on the dashboard, read from the stored summaries."""
    with Store(db) as s:
        for k, peaks in enumerate(([16.5, -1.0, 14.0], [4.0, 5.0, 1.0])):
            reps = [plant_rep(i + 1, 2.0 + 5.0 * i, p, 44.0 + k * 6) for i, p in enumerate(peaks)]
            s.record_session(make_out_dir(tmp_path / f"pv{k}", reps, tag=f"pv{k}", exercise="pivot"), "P1",
                             recorded_at=f"2025-03-{2 + 7 * k:02d}")  # fmt: skip
        slides = [slide_rep(1, 3.0, 0.30), slide_rep(2, 6.0, 0.36, caved=True), slide_rep(3, 9.0, 0.34)]
        s.record_session(make_out_dir(tmp_path / "sl", slides, tag="sl", exercise="adduction-slide"), "P1", recorded_at="2025-03-04")
        for k, holds in enumerate(([balance_hold(2.0, 12.0, "flat")], [balance_hold(2.0, 9.0, "tiptoes", 0.9, 0.02, sway=0.006)])):
            s.record_session(make_out_dir(tmp_path / f"bal{k}", [], tag=f"bal{k}", exercise="balance", holds=holds), "P1",
                             recorded_at=f"2025-03-{5 + 7 * k:02d}")  # fmt: skip
    _, c, _ = _client(db, tmp_path)
    page = c.get("/patients/P1").data.decode()
    assert "Pivots: valgus at the plant per leg" in page and 'id="plants"' in page
    assert re.search(r'data-leg="right" data-row="flagged"><td>right</td><td>plants flagged</td>\s*<td>2 of 3 \(67%\)</td><td>0 of 3 \(0%\)</td>', page)
    assert re.search(r'data-row="turn">.*?<td>44</td><td>50</td>', page, re.S)  # median trunk turn per session
    assert "less valgus: -10.0 deg (improved)" in page  # median plant peak 14.0 -> 4.0
    assert re.search(r'data-leg="right" data-row="range">.*?<td>0.34 <span class="note">\(best 0.36\)</span></td>', page)
    assert re.search(r'data-leg="right" data-row="caving">.*?<td>1 of 3 \(33%\)</td>', page)
    assert re.search(r'data-progression="flat">.*?<td>12.0 s .*?</td><td class="note">&ndash;</td></tr>', page, re.S)
    assert re.search(r'data-progression="tiptoes"><td>tiptoes</td>\s*<td class="note">&ndash;</td><td>9.0 s <span class="note">\(1 hold, longest 9.0 s; sway 0.006\)', page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # every chart's ids prefixed apart
    assert not re.search(r"<svg[^>]*\sstyle=|<(?:path|g|text|rect)[^>]*\sstyle=", page)  # the CSP allows no inline styles
    later = c.get("/patients/P1?since=2025-03-08").data.decode()  # the period holds no slide session
    assert "Adduction slides" not in later and "Pivots" in later and "Balance progressions" in later


def session_page(db: Path, tmp_path: Path, exercise: str, reps: list[dict], session: dict) -> tuple[str, object]:
    """The session page of a recorded session whose summary.json also holds `session` (its
    session-level blocks), and the client that fetched it."""
    out = make_out_dir(tmp_path / exercise, reps, tag=exercise, exercise=exercise)
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, **session}))
    with Store(db) as s:
        sid = s.record_session(out, "P1", recorded_at="2025-03-04").session_id
    _, c, _ = _client(db, tmp_path)
    return c.get(f"/sessions/{sid}").data.decode(), c


def test_adduction_slide_session_page_lists_slides_and_their_range(db: Path, tmp_path: Path) -> None:
    reps = [slide_rep(1, 3.0, 0.37), slide_rep(2, 6.0, 0.36, caved=True), slide_rep(3, 9.0, 0.30)]
    page, c = session_page(db, tmp_path, "adduction-slide", reps, {"slides": {
        "left": {"slides": 0, "median_range": None, "smallest_range": None},
        "right": {"slides": 3, "median_range": 0.36, "smallest_range": 0.30}}})  # fmt: skip
    assert page.count('class="rep-row slide-row') == 3 and page.count("slide-row flagged") == 1
    i = page.index('id="slides-summary"')
    summary_line = re.sub(r"\s+", " ", page[i : page.index("</p>", i)])
    assert "3 slides with the right knee bent, median range 0.36 leg lengths (smallest 0.30); 1 with the bent knee caving" in summary_line
    assert "0.81 / 0.51" in page  # slide 3: the feet's distance at the start and closest
    assert 'id="slide-reps"' not in c.get("/sessions/1").data.decode()  # a squat session has none


def test_pivot_session_page_lists_plants_and_trunk_turn(db: Path, tmp_path: Path) -> None:
    reps = [plant_rep(i, start, peak, 43.0 + i) for i, (start, peak) in enumerate([(2.0, -1.0), (7.0, 16.5), (12.0, -0.5)], 1)]
    page, c = session_page(db, tmp_path, "pivot", reps, {"plants": {
        "left": {"plants": 0, "caving": 0, "median_turn_deg": None},
        "right": {"plants": 3, "caving": 1, "median_turn_deg": 45.0}}})  # fmt: skip
    assert page.count('class="rep-row plant-row') == 3 and page.count("plant-row flagged") == 1
    i = page.index('id="plants-summary"')
    line = re.sub(r"\s+", " ", page[i : page.index("</p>", i)])
    assert "3 plants on the right foot, 1 with the knee caving, median trunk turn 45 degrees" in line
    assert "<td>+14.5</td><td>+16.5</td>" in page  # pivot 2: FPPA at the plant and its peak
    assert 'id="plant-reps"' not in c.get("/sessions/1").data.decode()  # a squat session has none


def test_balance_session_page_shows_each_holds_progression(db: Path, tmp_path: Path) -> None:
    out = make_out_dir(tmp_path / "bal", [], tag="bal", exercise="balance")
    summary = json.loads((out / "summary.json").read_text())
    reach = [{"limb": "free-leg", "start_s": 20.0, "end_s": 21.5, "distance": 0.74}]
    summary["holds"] = [balance_hold(2.0, 10.0, "tiptoes", 0.95, 0.021),
                        balance_hold(15.0, 10.0, "head-turns+reaches", 0.0, -0.004, head_turns=3, reach_list=reach)]  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary))
    with Store(db) as s:
        sid = s.record_session(out, "P1", recorded_at="2025-03-05").session_id
    _, c, _ = _client(db, tmp_path)
    page = c.get(f"/sessions/{sid}").data.decode()
    rows = re.findall(r'<tr class="rep-row hold-row".*?</tr>', page, re.S)
    assert len(rows) == 2
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "|", r)) for r in rows]
    assert "|tiptoes|" in cells[0] and "|95%|" in cells[0] and "|+0.021|" in cells[0], cells[0]
    assert "|head-turns+reaches|" in cells[1] and "|3 (45 deg)|" in cells[1] and "|1 (0.74)|" in cells[1], cells[1]


def test_uploads_without_a_pose_model_are_refused_up_front(db: Path, tmp_path: Path) -> None:
    app = create_app(db, tmp_path / "data", model=None)
    c = app.test_client()
    c.get("/")
    with c.session_transaction() as s:
        token = s.get("csrf")
    video = (SAMPLES / "squat_front_clean.mp4").read_bytes()
    r = c.post("/patients/P1/upload", data={"csrf": token, "exercise": "squat", "video": (io.BytesIO(video), "clip.mp4")},
               content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 400 and b"uploads are off" in r.data
    with Store(db) as s:
        assert s.jobs() == []
    assert not (tmp_path / "data" / "uploads").exists() or not any((tmp_path / "data" / "uploads").rglob("*.mp4"))


def test_post_without_form_token_is_refused(db: Path, tmp_path: Path) -> None:
    _, c, token = _client(db, tmp_path)
    assert c.post("/patients", data={"id": "P2"}).status_code == 400
    assert c.post("/patients", data={"id": "P2", "csrf": "wrong"}).status_code == 400
    assert c.post("/patients", data={"id": "P2", "csrf": token}).status_code == 302
    with Store(db) as s:
        assert s.patient("P2") is not None


def test_prescription_and_threshold_forms(db: Path, tmp_path: Path) -> None:
    _, c, token = _client(db, tmp_path)
    r = c.post("/patients/P1/prescription", data={"csrf": token, "exercise": "squat", "sets": "3", "reps": "8", "per_week": "4"})
    assert r.status_code == 302
    r = c.post("/patients/P1/thresholds", data={"csrf": token, "valgus_fppa_deg": "12.5", "valgus_shank_deg": "", "valgus_knee_toe": "0.3"})
    assert r.status_code == 302
    assert c.post("/patients/P1/thresholds", data={"csrf": token, "valgus_fppa_deg": "abc"}).status_code == 400
    with Store(db) as s:
        assert s.prescriptions("P1")[0]["reps"] == 8 and s.prescriptions("P1")[0]["per_week"] == 4
        assert s.thresholds("P1")["valgus_fppa_deg"] == 12.5
    assert "12.5" in c.get("/patients/P1").data.decode()


def test_knee_toe_change_settings_are_saved_and_shown(db: Path, tmp_path: Path) -> None:
    _, c, token = _client(db, tmp_path)
    page = c.get("/patients/P1").data.decode()
    assert '<option value="change" selected>' in page and 'name="valgus_knee_toe_change" value="0.04"' in page
    form = {"csrf": token, "valgus_fppa_deg": "10", "valgus_knee_toe": "0.3"}
    assert c.post("/patients/P1/thresholds", data=form).status_code == 302  # an older form without the new fields
    with Store(db) as s:
        assert "knee_toe_from_standing" not in s.thresholds("P1") and s.effective_thresholds("P1")["knee_toe_from_standing"]
    r = c.post("/patients/P1/thresholds", data={**form, "valgus_knee_toe_change": "0.065", "knee_toe_from_standing": "offset"})
    assert r.status_code == 302
    with Store(db) as s:
        th = s.thresholds("P1")
        assert (th["valgus_knee_toe_change"], th["knee_toe_from_standing"]) == (0.065, False)
    page = c.get("/patients/P1").data.decode()
    assert '<option value="offset" selected>' in page and 'name="valgus_knee_toe_change" value="0.065"' in page
    for bad in ({"valgus_knee_toe_change": "abc"}, {"valgus_knee_toe_change": "-0.02"}, {"valgus_knee_toe_change": "0"},
                {"knee_toe_from_standing": "yes"}):  # fmt: skip
        assert c.post("/patients/P1/thresholds", data={**form, **bad}).status_code == 400, bad
    with Store(db) as s:
        assert s.thresholds("P1")["valgus_knee_toe_change"] == 0.065  # refused forms change nothing
    r = c.post("/patients/P1/thresholds", data={**form, "valgus_knee_toe_change": "", "knee_toe_from_standing": "change"})
    assert r.status_code == 302
    with Store(db) as s:
        th = s.thresholds("P1")
        assert "valgus_knee_toe_change" not in th and th["knee_toe_from_standing"] is True  # empty: back to the default


def test_session_page_shows_knee_toe_change(tmp_path: Path) -> None:
    from tests.clinic.test_store import _rep

    path = tmp_path / "k.db"
    with Store(path) as s:
        s.add_patient("P1")
        rep = {**_rep(1, 1.0), "valgus_basis": "knee_toe", "peak_knee_toe_change": {"left": -0.01, "right": 0.07}}
        out = make_out_dir(tmp_path / "s", [rep], thresholds={"knee_toe_from_standing": True, "valgus_knee_toe_change": 0.04})
        sid = s.record_session(out, "P1").session_id
    _, c, _ = _client(path, tmp_path)
    page = c.get(f"/sessions/{sid}").data.decode()
    assert "knee-to-toe change L/R" in page and "-0.01 / +0.07" in page
    assert "by the knee-to-toe change from standing, 0.04" in page


def test_uploads_are_checked(db: Path, tmp_path: Path) -> None:
    app, c, token = _client(db, tmp_path, max_upload_mb=1)

    def post(name: str, content: bytes, exercise: str = "squat"):
        return c.post("/patients/P1/upload", data={"csrf": token, "exercise": exercise, "video": (io.BytesIO(content), name)},
                      content_type="multipart/form-data")  # fmt: skip

    r = post("clip.mp4", b"not a video at all" * 100)
    assert r.status_code == 400 and b"not a readable video" in r.data
    assert post("notes.txt", b"hello").status_code == 400
    assert post("clip.mp4", b"\0" * (2 * 1024 * 1024)).status_code == 413  # over the 1 MB limit
    assert post("clip.mp4", b"x", exercise="juggling").status_code == 400
    # a real clip with a hostile name: accepted, saved under a name the server made
    clip = (SAMPLES / "squat_front_clean.mp4").read_bytes()
    if len(clip) < 1024 * 1024:
        r = post("../../../etc/evil.mp4", clip)
        assert r.status_code == 302 and "/jobs/" in r.location
        saved = list((tmp_path / "data" / "uploads" / "P1").iterdir())
        assert len(saved) == 1 and "evil" not in saved[0].name and saved[0].suffix == ".mp4"
    assert not (tmp_path / "etc").exists()
    assert [p.name for p in (tmp_path / "data" / "uploads" / "P1").iterdir() if "clip" in p.name] == []


def test_password_is_required_once_set(db: Path, tmp_path: Path) -> None:
    with Store(db) as s:
        set_password(s, "correct horse")
        assert "correct horse" not in (s.setting("dashboard_password_hash") or "")  # stored hashed
        with pytest.raises(InputError):
            set_password(s, "short")
    _, c, _ = _client(db, tmp_path)
    r = c.get("/patients/P1")
    assert r.status_code == 302 and "/login" in r.location
    with c.session_transaction() as s:
        token = s.get("csrf") or "t"
        s["csrf"] = token
    assert b"wrong password" in c.post("/login", data={"csrf": token, "password": "nope"}).data
    r = c.post("/login?next=/patients/P1", data={"csrf": token, "password": "correct horse"})
    assert r.status_code == 302 and r.location.endswith("/patients/P1")
    assert c.get("/patients/P1").status_code == 200


def test_loopback_only_rejects_other_host_headers(db: Path, tmp_path: Path) -> None:
    _, c, _ = _client(db, tmp_path)
    assert c.get("/", headers={"Host": "attacker.example"}).status_code == 400
    assert c.get("/", headers={"Host": "localhost:8765"}).status_code == 200


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_serve_refuses_network_address_without_password(tmp_path: Path) -> None:
    proc = run_cli(["serve", "--host", "0.0.0.0", "--port", "0"], None, timeout=60, env_extra={"FORMCHECK_DB": str(tmp_path / "x.db")})
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a therapist password" in proc.stderr
