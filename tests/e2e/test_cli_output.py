"""--json and --quiet on every command that prints: with --json one JSON document on stdout
(json.loads reads it) with the keys its help names, with --quiet nothing on stdout, and errors
still one line on stderr with the contract's exit code. One short clip (45 frames of a committed
sample), analysed twice in the whole module; the other commands reuse its output folder."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from tests.e2e.test_bad_input import assert_one_line_error, read_frames, write_video


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli_output")


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    """The store, the safety answers and the model cache in the test's folder; no downloads."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    return {"FORMCHECK_DB": str(home / "formcheck.db"), "FORMCHECK_HOME": str(home / "home"),
            "FORMCHECK_CACHE": str(home / "cache"), "FORMCHECK_MODEL_URL": f"http://127.0.0.1:{closed}"}  # fmt: skip


@pytest.fixture(scope="module")
def short_clip(home: Path) -> Path:
    return write_video(home / "short.mp4", read_frames(SAMPLES / "squat_front_clean.mp4", limit=45))


@pytest.fixture(scope="module")
def cli(home: Path, env: dict[str, str], model_path: Path):
    def run(*args: str):
        return run_cli(list(args), model_path, timeout=300, env_extra=env, cwd=home)

    return run


def document(proc, *keys: str):
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    missing = set(keys) - set(doc if isinstance(doc, dict) else doc[0])
    assert not missing, (missing, doc)
    return doc


@pytest.fixture(scope="module")
def analyzed(cli, short_clip: Path, home: Path) -> dict:
    """`patient add`, then `analyze --json` recording the session for that patient."""
    document(cli("patient", "add", "p1", "--name", "Pat", "--json"), "patient", "name", "db")
    proc = cli("analyze", str(short_clip), "--out", str(home / "run"), "--no-video", "-j", "1",
               "--patient", "p1", "--export", "csv", "--json")  # fmt: skip
    return document(proc, "out", "exercise", "rep_count", "flagged_reps", "partial", "warnings", "files", "session", "exports")


def test_analyze_json(analyzed: dict, home: Path) -> None:
    assert Path(analyzed["out"]) == home / "run" and (home / "run" / "summary.json").is_file()
    assert analyzed["partial"] is False and isinstance(analyzed["flagged_reps"], list)
    assert analyzed["session"]["patient"] == "p1" and analyzed["exports"]["csv"].endswith("keypoints.csv")


def test_folder_and_patient_commands_json(cli, analyzed: dict, home: Path) -> None:
    run = analyzed["out"]
    assert document(cli("export", run, "--to", "trc", "--out", str(home / "m.trc"), "--json"), "format", "out")["format"] == "trc"
    again = document(cli("import", run, "--patient", "p1", "--json"), "patient", "session_id", "created", "replaced")
    assert again["session_id"] == analyzed["session"]["session_id"] and again["created"] is False
    rep = document(cli("report", "--patient", "p1", "--out", str(home / "r.html"), "--json"), "out", "sessions", "status", "reasons")
    assert rep["sessions"] == 1 and (home / "r.html").is_file()
    assert document(cli("report", "--patient", "p1", "--out", str(home / "r.fhir.json"), "--json"), "out", "sessions")["format"] == "fhir"
    rx = document(cli("patient", "prescribe", "p1", "-e", "squat", "--reps", "10", "--json"), "patient", "exercise", "sets", "reps")
    assert rx["reps"] == 10 and rx["removed"] is False
    patients = document(cli("patient", "list", "--json"), "id", "name", "sessions", "prescriptions")
    assert patients[0]["id"] == "p1" and patients[0]["sessions"] == 1 and patients[0]["prescriptions"][0]["exercise"] == "squat"
    limits = document(cli("patient", "thresholds", "p1", "--valgus-fppa-deg", "12", "--json"), "patient", "thresholds")
    assert limits["thresholds"]["valgus_fppa_deg"] == 12
    models = document(cli("models", "--json"), "variant", "source", "path", "present", "sha256", "selected")
    assert models[0]["source"] == "env" and models[0]["selected"] is True


def test_quiet_prints_nothing(cli, analyzed: dict, short_clip: Path, home: Path) -> None:
    run = analyzed["out"]
    for args in (
        ("analyze", str(short_clip), "--out", str(home / "run_q"), "--no-video", "-j", "1"),
        ("export", run, "--to", "mot", "--out", str(home / "a.mot")),
        ("import", run, "--patient", "p1"),
        ("report", "--patient", "p1", "--out", str(home / "q.csv")),
        ("patient", "add", "p2"),
        ("patient", "list"),
        ("patient", "prescribe", "p2", "-e", "balance", "--hold", "30"),
        ("patient", "thresholds", "p2"),
        ("models",),
    ):
        proc = cli(*args, "--quiet")
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout == "", (args, proc.stdout)


def test_batch_json_then_quiet(cli, short_clip: Path, home: Path) -> None:
    out = home / "batch"
    doc = document(cli("batch", str(short_clip), "--out", str(out), "-e", "squat", "--no-video", "-j", "1", "--json"),
                   "out", "index_csv", "index_html", "done", "failed", "videos")  # fmt: skip
    assert doc["done"] == 1 and doc["videos"][0]["status"] == "done" and Path(doc["index_csv"]).is_file()
    assert {"video", "out_dir", "status", "rep_count", "flagged_reps", "warnings"} <= set(doc["videos"][0])
    again = cli("batch", str(short_clip), "--out", str(out), "-e", "squat", "--no-video", "-j", "1", "--quiet")
    assert again.returncode == 0 and again.stdout == "", again.stderr  # the video is skipped: done already


@pytest.mark.xdist_group("realtime")  # real time: see tests/e2e/test_live_clips.py
def test_live_json(cli, short_clip: Path, home: Path) -> None:
    proc = cli("live", "--source", str(short_clip), "--no-window", "--yes", "--out", str(home / "live"), "--json")
    doc = document(proc, "out", "rep_count", "flagged_reps", "partial", "warnings", "latency", "stopped_by")
    assert doc["latency"]["frames_in"] > 0


def test_samples_json_and_quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In process, with the renderer replaced: rendering the committed set takes about 20 s."""
    from typer.testing import CliRunner

    from formcheck import cli as cli_module
    from formcheck.synth import samples

    monkeypatch.setattr(samples, "make_samples", lambda out, which: [Path(out) / "a.mp4", Path(out) / "b.mp4"])
    runner = CliRunner()
    result = runner.invoke(cli_module.app, ["samples", "--out", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"out": str(tmp_path / "s"), "set": "standard",
                                         "files": [str(tmp_path / "s" / "a.mp4"), str(tmp_path / "s" / "b.mp4")]}  # fmt: skip
    result = runner.invoke(cli_module.app, ["samples", "--out", str(tmp_path / "s"), "--quiet"])
    assert result.exit_code == 0 and result.stdout == ""


def test_errors_stay_one_line_with_json(cli, home: Path) -> None:
    for args, fragment in (
        (("analyze", str(home / "nope.mp4")), "no such file"),
        (("report", "--patient", "nobody", "--out", str(home / "x.html")), "nobody"),
        (("export", str(home / "not_a_run"), "--to", "csv", "--out", str(home / "x.csv")), "not_a_run"),
        (("patient", "thresholds", "nobody"), "nobody"),
        (("serve",), "--json"),  # serve has --quiet only
    ):
        proc = cli(*args, "--json")
        assert_one_line_error(proc, 2, fragment)
        assert proc.stdout == ""


def test_help_names_the_options(cli) -> None:
    for command in ("analyze", "export", "batch", "live", "samples", "models", "import", "report", "patient list"):
        out = cli(*command.split(), "--help").stdout
        assert "--json" in out and "--quiet" in out, command
    serve = cli("serve", "--help").stdout
    assert "--quiet" in serve and "No --json" in serve
