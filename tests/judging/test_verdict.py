"""The verdict rule on its own: which measure judges a knee, the grade and the confidence."""

from __future__ import annotations

import math

import pytest

from formcheck.config import Thresholds
from formcheck.judging.verdict import Confidence, Grade, Measure, Verdict, choose_measure, decide, judge, measures_for


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


def test_against_the_foot_the_shank_gate_joins_the_change_and_names_the_decider():
    th = Thresholds()
    measures = measures_for(False, True, True, th)
    assert measures == (Measure.KNEE_TOE_CHANGE, Measure.SHANK)
    assert measures_for(True, True, True, th) == (Measure.FPPA,)
    assert measures_for(False, True, True, Thresholds(shank_gate=False)) == (Measure.KNEE_TOE_CHANGE,)
    # Neither past its limit: the primary measure speaks.
    v = decide(measures, {Measure.KNEE_TOE_CHANGE: -0.1, Measure.SHANK: 4.0}, th)
    assert (v.measure, v.valgus) == (Measure.KNEE_TOE_CHANGE, False)
    # The shank past 10 degrees while the knee barely moved from standing: caving, on the shank.
    v = decide(measures, {Measure.KNEE_TOE_CHANGE: 0.0, Measure.SHANK: 20.0}, th)
    assert (v.measure, v.valgus) == (Measure.SHANK, True)
    # Both past: the one furthest past its limit, relative to it (0.2 / 0.04 beats 12 / 10).
    v = decide(measures, {Measure.KNEE_TOE_CHANGE: 0.2, Measure.SHANK: 12.0}, th)
    assert v.measure is Measure.KNEE_TOE_CHANGE


def test_a_gate_firing_keeps_the_primary_measures_confidence():
    th = Thresholds()
    v = decide((Measure.KNEE_TOE_CHANGE, Measure.SHANK), {Measure.KNEE_TOE_CHANGE: 0.0, Measure.SHANK: 20.0}, th, 1.0, 2.0)
    assert (v.measure, v.confidence) == (Measure.SHANK, Confidence.HIGH)
    alone = decide((Measure.SHANK,), {Measure.SHANK: 20.0}, th, 1.0, 2.0)  # the foot not seen
    assert alone.confidence is Confidence.LOW
