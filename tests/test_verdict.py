"""The verdict rule on its own: which measure judges a knee, the grade and the confidence."""

from __future__ import annotations

import math

import pytest

from formcheck.config import Thresholds
from formcheck.verdict import Confidence, Grade, Measure, Verdict, choose_measure, judge


@pytest.mark.parametrize(
    ("fppa_usable", "toe_seen", "standing_known", "from_standing", "expected"),
    [
        (True, True, True, True, Measure.FPPA),
        (False, False, True, True, Measure.SHANK),
        (False, True, True, True, Measure.KNEE_TOE_CHANGE),
        (False, True, False, True, Measure.KNEE_TOE),
        (False, True, True, False, Measure.KNEE_TOE),
    ],
)
def test_choose_measure(fppa_usable, toe_seen, standing_known, from_standing, expected):
    th = Thresholds(knee_toe_from_standing=from_standing)
    assert choose_measure(fppa_usable, toe_seen, standing_known, th) is expected


@pytest.mark.parametrize(
    ("measure", "value", "grade"),
    [
        (Measure.FPPA, 9.9, Grade.NONE),
        (Measure.FPPA, 10.0, Grade.NONE),  # at the limit is in line
        (Measure.FPPA, 17.9, Grade.MILD),
        (Measure.FPPA, 18.1, Grade.MARKED),  # past the limit by more than 8 degrees
        (Measure.KNEE_TOE_CHANGE, 0.05, Grade.MILD),
        (Measure.KNEE_TOE_CHANGE, 0.15, Grade.MARKED),  # past 0.04 by more than 0.1
        (Measure.KNEE_TOE, 0.35, Grade.MILD),
    ],
)
def test_grade(measure, value, grade):
    v = judge(measure, value, Thresholds())
    assert v.grade is grade and v.valgus is (grade is not Grade.NONE)


def test_unseen_knee_has_no_outcome():
    v = judge(Measure.FPPA, math.nan, Thresholds())
    assert (v.value, v.valgus, v.grade) == (None, None, None)


@pytest.mark.parametrize(
    ("measure", "seen", "yaw", "confidence"),
    [
        (Measure.FPPA, 1.0, 3.0, Confidence.HIGH),
        (Measure.FPPA, 0.7, 3.0, Confidence.MEDIUM),
        (Measure.FPPA, 1.0, 12.0, Confidence.MEDIUM),
        (Measure.FPPA, 0.4, 3.0, Confidence.LOW),
        (Measure.FPPA, 1.0, -16.0, Confidence.LOW),
        (Measure.SHANK, 1.0, 0.0, Confidence.LOW),  # the foot was not seen
    ],
)
def test_confidence(measure, seen, yaw, confidence):
    assert judge(measure, 5.0, Thresholds(), seen, yaw).confidence is confidence


def test_json_round_trip():
    v = judge(Measure.KNEE_TOE_CHANGE, 0.1234, Thresholds(), 0.6, 2.0)
    back = Verdict.from_json(v.as_json())
    assert back == Verdict(Measure.KNEE_TOE_CHANGE, 0.123, 0.04, True, Grade.MILD, Confidence.MEDIUM)
