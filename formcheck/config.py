"""One typed, frozen configuration: defaults here, then a TOML file, then the command line.

`formcheck/default_config.toml` is the commented example; its values must equal these defaults
(a test checks). Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck.errors import InputError


@dataclass(frozen=True)
class Thresholds:
    """When a knee counts as caving in. Defaults from DOMAIN.md's norms; a therapist may change each.

    FPPA 10 degrees sits between healthy landing norms (females 7-13, males 3-8) and the
    single-leg-squat mean in patellofemoral pain (16.8); the shank and knee-to-toe limits judge
    the knee against the foot where the thigh is too foreshortened for FPPA.
    """

    valgus_fppa_deg: float = 10.0
    valgus_shank_deg: float = 10.0
    # Knee-to-toe offset in the loaded half of a rep. Clean real squats read up to about 0.25
    # there (toes-out stances put the foot-index landmark lateral of the knee), so the limit sits
    # above that; DOMAIN.md's clear cave read +0.56.
    valgus_knee_toe: float = 0.3
    baseline_relative: bool = False  # compare FPPA with the standing baseline instead of 0
    frontal_max_yaw_deg: float = 20.0  # body turned further than this: valgus is not scored
    # FPPA is only read where the thigh is seen well: knee flexion (3D) at most this, and the
    # thigh's image length (relative to hip width) at least `foreshortened_thigh_ratio` of its
    # standing value. Beyond that the knee is judged against the foot instead.
    fppa_max_flexion_deg: float = 60.0
    foreshortened_thigh_ratio: float = 0.75


@dataclass(frozen=True)
class CueConfig:
    """Live feedback timing: hold before speaking, release margin, and quiet time between cues."""

    debounce_s: float = 0.03
    release_margin: float = 0.7  # a cue ends when the measure falls below this fraction of its threshold
    cooldown_s: float = 2.0


@dataclass(frozen=True)
class Config:
    thresholds: Thresholds = field(default_factory=Thresholds)
    cues: CueConfig = field(default_factory=CueConfig)


def _apply(obj: Any, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise InputError(f"unknown setting '{where}{key}' in config: known are {', '.join(sorted(known))}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError(f"setting '{where}{key}' must be a table")
            changes[key] = _apply(current, value, f"{where}{key}.")
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise InputError(f"setting '{where}{key}' must be true or false")
            changes[key] = value
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"setting '{where}{key}' must be a number")
            changes[key] = float(value)
    return dataclasses.replace(obj, **changes)


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the TOML file at `path`, then `overrides` (nested dicts, like the file)."""
    config = Config()
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"config file {path} is not valid TOML: {exc}") from None
        config = _apply(config, data, "")
    if overrides:
        config = _apply(config, overrides, "")
    return config


def config_as_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)
