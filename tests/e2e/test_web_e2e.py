"""Done-when, end to end: three clips for one patient on three dates, the report in HTML and PDF
shows the trend, and `formcheck serve` shows the same in headless chromium (playwright): open the
patient, click a rep (the video jumps to it), upload a clip and see its session appear.

Screenshots of each page go to $FORMCHECK_SCREENSHOTS (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, announced_port, run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
DAYS = [15, 8, 1]  # days ago, one clip each


def _trim(src: Path, dst: Path, frames: int) -> Path:
    """The first `frames` frames of a clip: a third, shorter session (2 reps, one caving in)."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    ok, image = cap.read()
    h, w = image.shape[:2]
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), cap.get(cv2.CAP_PROP_FPS), (w, h))
    for _ in range(frames):
        out.write(image)
        ok, image = cap.read()
        if not ok:
            break
    cap.release()
    out.release()
    return dst


@pytest.fixture(scope="module")
def patient_db(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> dict:
    root = tmp_path_factory.mktemp("e2e")
    env = {"FORMCHECK_DB": str(root / "formcheck.db")}
    for args in (["patient", "add", "P1", "--name", "Ann Example"],
                 ["patient", "prescribe", "P1", "-e", "squat", "--sets", "1", "--reps", "5", "--per-week", "1"]):  # fmt: skip
        proc = run_cli(args, None, env_extra=env)
        assert proc.returncode == 0, proc.stderr
    clips = [
        (SAMPLES / "squat_front.mp4", []),  # right knee caves on 3 of 5 reps
        (_trim(SAMPLES / "squat_front.mp4", root / "squat_part.mp4", 200), ["--no-video"]),  # 1 of 2
        (SAMPLES / "squat_front_clean.mp4", ["--no-video"]),  # clean
    ]
    dates = [(date.today() - timedelta(days=d)).isoformat() for d in DAYS]
    for k, ((clip, extra), day) in enumerate(zip(clips, dates)):
        proc = run_cli(["analyze", str(clip), "-e", "squat", "--out", str(root / f"s{k + 1}"), "--patient", "P1",
                        "--date", day, "--pain-before", str(4 - k), "--pain-after", str(4 - k), *extra], model_path, env_extra=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert f"recorded as session {k + 1}" in proc.stdout
    return {"root": root, "env": env, "dates": dates, "model": model_path}


def test_reimport_is_idempotent(patient_db: dict) -> None:
    proc = run_cli(["import", str(patient_db["root"] / "s3"), "--patient", "P1"], None, env_extra=patient_db["env"])
    assert proc.returncode == 0 and "already recorded as session 3" in proc.stdout, proc.stdout + proc.stderr


def test_report_html_pdf_csv_show_the_trend(patient_db: dict) -> None:
    root, env = patient_db["root"], patient_db["env"]
    for name in ("report.html", "report.pdf", "report.csv"):
        proc = run_cli(["report", "--patient", "P1", "--out", str(root / name)], patient_db["model"], env_extra=env)
        assert proc.returncode == 0, proc.stderr
    html = (root / "report.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)  # self-contained: nothing fetched
    # right knee: from about +19 (3 caving reps of 5) to about -7: improved beyond the 8 deg error
    right = re.search(r'<tr data-leg="right">.*?</tr>', html, re.S).group(0)
    assert "improved" in right and "less valgus" in right
    left = re.search(r'<tr data-leg="left">.*?</tr>', html, re.S).group(0)
    assert "no real change" in left
    for d in patient_db["dates"]:
        assert d in html
    assert html.count("<svg") >= 2  # trend and pain charts
    assert html.count("data:image/jpeg;base64,") == 4  # every flagged rep (3 + 1): annotated or source video
    rows = (root / "report.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3
    assert (root / "report.pdf").read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):  # the PDF is the HTML page printed: the same verdicts
        text = " ".join(subprocess.run(["pdftotext", "-raw", str(root / "report.pdf"), "-"], capture_output=True, text=True).stdout.split())
        assert "improved" in text and "no real change" in text and text.count("faces blurred") == 1
    if shutil.which("pdftoppm"):
        out = Path(os.environ.get("FORMCHECK_SCREENSHOTS") or root)
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "50", str(root / "report.pdf"), str(out / "report-pdf")], check=True)


@pytest.fixture(scope="module")
def server(patient_db: dict):
    env = dict(os.environ, FORMCHECK_MODEL=str(patient_db["model"]), **patient_db["env"])
    proc = subprocess.Popen([sys.executable, "-m", "formcheck", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{announced_port(proc)}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=5).read()
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "dashboard did not start"
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _wait_for(page, expression: str, timeout_s: float = 30) -> None:
    """Poll a JavaScript expression until it is true. Not `page.wait_for_function`: its polling
    evaluates a string in the page, which the dashboard's Content-Security-Policy refuses."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error:  # the page is navigating: its next document is asked again
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(200)


def test_dashboard_end_to_end(server: str, browser, patient_db: dict) -> None:
    shots = Path(os.environ.get("FORMCHECK_SCREENSHOTS") or patient_db["root"])
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(30_000)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server, "data:")) else outside.append(r.url))
    refused: list[str] = []  # anything the Content-Security-Policy blocked
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(server + "/")
    row = page.locator('tr.patient-row[data-patient="P1"]')
    assert row.locator(".light").get_attribute("title") in ("green", "amber", "red")
    assert row.locator("td").nth(3).inner_text() == "3"
    page.screenshot(path=str(shots / "1-patients.png"), full_page=True)

    row.locator("a").click()
    page.wait_for_url(re.compile(r"/patients/P1$"))
    right = page.locator('tr[data-leg="right"] td.verdict').first.inner_text()
    assert "improved" in right  # the same trend as the report
    assert page.locator("svg").count() >= 2 and page.locator("#adherence").count() == 1
    page.screenshot(path=str(shots / "2-patient.png"), full_page=True)

    page.locator("a.session-link").last.click()  # the oldest session: it has the annotated video
    page.wait_for_url(re.compile(r"/sessions/1$"))
    _wait_for(page, "document.getElementById('video').readyState >= 1", timeout_s=120)
    rep4 = page.locator("#rep-4")
    start = float(rep4.get_attribute("data-start"))
    rep4.click()
    _wait_for(page, f"Math.abs(document.getElementById('video').currentTime - {start}) < 0.5")
    assert "flagged" in (rep4.get_attribute("class") or "")
    page.evaluate("document.getElementById('video').pause()")
    page.screenshot(path=str(shots / "3-session.png"), full_page=True)

    page.goto(server + "/patients/P1")
    page.set_input_files('input[name="video"]', str(SAMPLES / "squat_front_clean.mp4"))
    page.select_option('#upload-form select[name="exercise"]', "squat")
    page.fill('input[name="pain_before"]', "1")
    page.locator("#upload-form button").click()
    page.wait_for_url(re.compile(r"/jobs/"))
    _wait_for(page, "location.pathname.startsWith('/sessions') || document.getElementById('job-progress').value > 0.05",
              timeout_s=120)  # fmt: skip
    if "/jobs/" in page.url:
        page.screenshot(path=str(shots / "4-job.png"))
    page.wait_for_url(re.compile(r"/sessions/4$"), timeout=300_000)  # analysed in the background
    page.wait_for_selector("tr.rep-row")
    assert page.locator("tr.rep-row").count() == 2  # squat_front_clean.mp4 has 2 reps
    page.goto(server + "/patients/P1")
    assert page.locator("a.session-link").count() == 4
    page.screenshot(path=str(shots / "5-patient-after-upload.png"), full_page=True)
    assert outside == []  # every asset is local
    assert refused == []
