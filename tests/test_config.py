"""One configuration: commented example equals the defaults, unknown keys and bad types refused."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

import formcheck
from formcheck.config import Config, load_config
from formcheck.errors import InputError

EXAMPLE = Path(formcheck.__file__).parent / "default_config.toml"


def test_example_file_equals_defaults():
    assert load_config(EXAMPLE) == Config()
    # and it lists every setting (nested tables too), so it documents them all; internal fields
    # (set by the code, not by a user) are not settings
    def check(table: dict, obj: object, where: str) -> None:
        assert set(table) == {f.name for f in dataclasses.fields(obj) if not f.metadata.get("internal")}, where
        for f in dataclasses.fields(obj):
            if dataclasses.is_dataclass(getattr(obj, f.name)):
                check(table[f.name], getattr(obj, f.name), f"{where}.{f.name}")

    check(tomllib.loads(EXAMPLE.read_text()), Config(), "config")


def test_every_setting_has_its_own_comment():
    """Each setting in the example file has a comment line right above it (one line each)."""
    lines = EXAMPLE.read_text().splitlines()
    for k, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[k - 1].startswith("#"), f"undocumented: {line}"


def test_precedence_file_then_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[thresholds]\nvalgus_fppa_deg = 14\nvalgus_knee_toe = 0.2\n")
    c = load_config(f, {"thresholds": {"valgus_fppa_deg": 8}})
    assert c.thresholds.valgus_fppa_deg == 8.0 and c.thresholds.valgus_knee_toe == 0.2


@pytest.mark.parametrize(
    "text, message",
    [
        ("[thresholds]\nvalgus_fpa_deg = 3\n", "unknown setting 'thresholds.valgus_fpa_deg'"),
        ("[thresholds]\nvalgus_fppa_deg = 'ten'\n", "must be a number"),
        ("[thresholds]\nbaseline_relative = 1\n", "must be true or false"),
        ("[thresholds\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, text, message):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as err:
        load_config(f)
    assert "\n" not in str(err.value)


def test_effective_config_precedence(tmp_path):
    """Defaults < file < the patient's own thresholds < the command line, in one function."""
    from formcheck.config import effective_config

    f = tmp_path / "c.toml"
    f.write_text("[thresholds]\nvalgus_fppa_deg = 14\nvalgus_shank_deg = 12\nvalgus_knee_toe = 0.2\n")
    th = effective_config(f, {"valgus_fppa_deg": 11.0, "valgus_shank_deg": 9.0}, {"valgus_fppa_deg": 8.0}).thresholds
    assert (th.valgus_fppa_deg, th.valgus_shank_deg, th.valgus_knee_toe, th.valgus_knee_toe_change) == (8.0, 9.0, 0.2, 0.04)
    assert effective_config() == load_config()


def test_internal_fields_are_not_settings(tmp_path):
    """knee_toe_gate is set by the squat trackers (`Thresholds.for_two_footed_squat`); a config
    file cannot switch it, so it cannot turn the gate on for lunges, where it flags clean knees."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nknee_toe_gate = true\n")
    with pytest.raises(InputError, match="unknown setting 'thresholds.knee_toe_gate'"):
        load_config(bad)
