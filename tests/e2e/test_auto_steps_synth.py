"""`--exercise auto` on the rendered synthetic step-down and step-up, with the real pose model: it
may be unsure, never wrong. A step-down's free foot lowers to the floor and comes back while the
other foot stands on the box (both ankles read above the common floor: once taken for hops), and
at a step's bottom one leg is straight (once taken for side lunges)."""

from __future__ import annotations

import pytest

from formcheck.synth.clip import write_clip
from formcheck.synth.samples import standard_specs
from tests.conftest import load_summary

CLIPS = ("stepdown_yaw15_h050_t34_clear", "stepdown_yaw00_h110_t26_clear", "stepup_yaw00_h050_t20_clear")


@pytest.mark.parametrize("name", CLIPS)
def test_auto_never_calls_a_step_a_hop_or_a_side_lunge(analyzed, tmp_path_factory, name):
    spec = next(s for s in standard_specs() if s.name == name)
    clip = write_clip(spec, tmp_path_factory.mktemp(name))
    s = load_summary(analyzed(clip, "auto"))
    assert s["exercise_detected"]["name"] in (spec.motion.exercise, "unsure"), s["exercise_detected"]
