"""Random values in every option a person types: the command line answers with one line and exit 2
(or accepts the value), never exit 1, never a traceback, and nothing it refused reaches the store.

Runs the real entry point in this process (a subprocess per example would take minutes); the
video named does not exist, so a value that passes every check ends at "no such file", before
any analysis, which is itself the rule being tested: options are checked before work starts.
"""

from __future__ import annotations

import signal
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formcheck import cli

AWKWARD = ["", " ", "nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "0.0", "-0", "99999999999999999999999",
           "pd\n", "pd ", "../pd", "pd;drop", "2026-02-30", "2026-13-01", "notadate", "1" * 400, "\u00e9", "true"]  # fmt: skip
values = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def cli_run(tmp_path, monkeypatch, capsys):
    """Run `formcheck ARGS` in this process against a fresh store holding patient `pd`."""
    monkeypatch.setenv("FORMCHECK_DB", str(tmp_path / "f.db"))
    monkeypatch.delenv("FORMCHECK_DEBUG", raising=False)
    from formcheck.clinic.store import Store

    with Store(tmp_path / "f.db") as store:
        if not store.patients():
            store.add_patient("pd", "", "")

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["formcheck", *args])
        term = signal.getsignal(signal.SIGTERM)
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        finally:
            signal.signal(signal.SIGTERM, term)
        err = capsys.readouterr().err
        assert code in (0, 2), (args, code, err)
        assert "Traceback" not in err and "unexpected error" not in err, (args, err)
        if code == 2:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("formcheck: "), (args, err)
        return code, err

    return run


ANALYZE_OPTIONS = ["--threshold", "--date", "--patient", "--pain-before", "--pain-after", "--exercise", "--side", "--config"]


@FUZZ
@given(option=st.sampled_from(ANALYZE_OPTIONS), value=values)
def test_analyze_options(cli_run, option, value):
    code, err = cli_run("analyze", "no-such-video.mp4", option, value)
    assert code == 2
    if "no such file: no-such-video.mp4" not in err:
        return
    # Accepted: it must really be a valid value.
    if option == "--threshold":
        assert 0 < float(value) < float("inf")
    if option == "--date":
        from datetime import datetime

        datetime.fromisoformat(value.strip())
    if option == "--patient":
        assert value == "pd"


@FUZZ
@given(sets=values, reps=values, per_week=values)
def test_prescriptions(cli_run, sets, reps, per_week):
    code, _ = cli_run("patient", "prescribe", "pd", "-e", "squat", "--sets", sets, "--reps", reps, "--per-week", per_week)
    if code == 0:
        assert 1 <= int(sets) <= 20 and 1 <= int(reps) <= 500 and 1 <= int(per_week) <= 14
    listing_code, _ = cli_run("patient", "list")
    assert listing_code == 0


@FUZZ
@given(hold=values)
def test_hold_times(cli_run, hold):
    code, _ = cli_run("patient", "prescribe", "pd", "-e", "balance", "--hold", hold)
    if code == 0:
        assert 0 < float(hold) <= 600


@FUZZ
@given(key=st.sampled_from(["--valgus-fppa-deg", "--valgus-shank-deg", "--valgus-knee-toe", "--valgus-knee-toe-change"]), value=values)
def test_patient_thresholds(cli_run, key, value):
    code, _ = cli_run("patient", "thresholds", "pd", key, value)
    if code == 0:
        assert 0 < float(value) < float("inf")


@FUZZ
@given(patient_id=values)
def test_patient_ids(cli_run, patient_id):
    code, _ = cli_run("patient", "add", patient_id)
    if code == 0:
        assert patient_id.isascii() and "\n" not in patient_id and patient_id[:1].isalnum()


@FUZZ
@given(port=st.one_of(st.integers(max_value=-1).map(str), st.integers(min_value=65536).map(str), st.sampled_from(["", "http", "8000.5", "nan"])))
def test_serve_ports(cli_run, port):
    assert cli_run("serve", "--port", port)[0] == 2


@FUZZ
@given(option=st.sampled_from(["--date", "--pain-before", "--pain-after", "--safety"]), value=values)
def test_import_options(cli_run, tmp_path, option, value):
    code, _ = cli_run("import", str(tmp_path / "no-such-folder"), "--patient", "pd", option, value)
    assert code == 2


@FUZZ
@given(since=values)
def test_report_since(cli_run, tmp_path, since):
    code, _ = cli_run("report", "--patient", "pd", "--since", since, "--out", str(tmp_path / "r.csv"))
    if code == 0:
        from datetime import datetime

        datetime.fromisoformat(since.strip())
