"""report.html shows the knee-to-toe measure that decided, with its own threshold."""

from __future__ import annotations

import re

from formcheck.config import Config, Thresholds
from formcheck.pipeline.session import summarize
from formcheck.reporting.outputs import summary_dict
from formcheck.reporting.report import render_report
from tests.builders import squat_flexion
from tests.trackers.test_squat_tracker import INFO, times
from tests.judging.test_valgus_scoring import run_toes_out, shifts

MODEL = {"name": "test", "sha256": "0" * 64, "variant": "full"}


def _report(config: Config) -> tuple[str, dict]:
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=110.0)
    pipe = run_toes_out(flex, shifts(t, flex, [0.0, 0.06], reps), config)
    result = summarize(pipe.recording, "squat", config, INFO)
    summary = summary_dict(result, MODEL)
    return render_report(result, summary), summary


def _row_values(html: str, rep: int) -> list[str]:
    row = re.search(rf"<td>{rep}</td>(.*?)</tr>", html, re.DOTALL).group(1)
    return re.findall(r"<td>(.*?)</td>", row, re.DOTALL)


def test_report_shows_the_change_from_standing_when_it_decides() -> None:
    html, summary = _report(Config())
    assert "Knee-to-toe change L / R" in html
    assert "knee-to-toe change 0.04" in html.replace("\n", " ")
    change = summary["reps"][1]["peak_knee_toe_change"]["left"]
    assert f"{change:+.2f}" in _row_values(html, 2)[4]  # the caving rep's left knee, as decided
    assert "knee-to-toe change from" in html  # the plot's axis


def test_report_shows_the_offset_when_the_absolute_rule_is_chosen() -> None:
    html, summary = _report(Config(thresholds=Thresholds(knee_toe_from_standing=False)))
    assert "Knee-to-toe change" not in html
    offset = summary["reps"][0]["peak_knee_toe_offset"]["left"]
    assert f"{offset:+.2f}" in _row_values(html, 1)[4]


def test_report_names_the_gates_the_session_applied() -> None:
    """The report says the shin-lean and knee-to-toe gates only where the session applied them."""
    html, summary = _report(Config())
    text = " ".join(html.split())
    assert summary["thresholds"]["shank_gate"] is True and summary["thresholds"]["knee_toe_gate"] is True  # a squat
    assert "its shin leans inward past 10.0°, or when it ends more than 0.2 shank lengths inside its toes" in text
    html, summary = _report(Config(thresholds=Thresholds(shank_gate=False)))
    text = " ".join(html.split())
    assert "shin leans inward" not in text and "when it ends more than 0.2 shank lengths inside its toes" in text
