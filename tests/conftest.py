"""Shared fixtures: where the real pose model and the labelled real clips are, and CLI runs.

The model and the clips live in ../shared (never in this repo). Tests that need them skip with
the reason when they are absent; `.ci/run` points FORMCHECK_MODEL at the model.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_videos"


def _find(env_var: str, default: Path, is_found) -> Path | None:  # noqa: ANN001 - Path -> bool
    """The path named by `env_var`, else `default`, if it is what the tests need."""
    env = os.environ.get(env_var)
    candidates = ([Path(env)] if env else []) + [default]
    return next((p for p in candidates if is_found(p)), None)


def _model_path() -> Path | None:
    return _find("FORMCHECK_MODEL", REPO.parent / "shared" / "models" / "pose_landmarker_full.task", Path.is_file)


def _media_dir() -> Path | None:
    return _find("FORMCHECK_MEDIA", REPO.parent / "shared" / "media", lambda p: (p / "manifest.json").is_file())


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = _model_path()
    if path is None:
        pytest.skip("no pose model: set FORMCHECK_MODEL or put pose_landmarker_full.task in ../shared/models")
    return path


@pytest.fixture(scope="session")
def media_dir() -> Path:
    path = _media_dir()
    if path is None:
        pytest.skip("no labelled real clips: set FORMCHECK_MEDIA or provide ../shared/media with manifest.json")
    return path


@pytest.fixture(scope="session")
def manifest(media_dir: Path) -> dict[str, dict]:
    return {e["file"]: e for e in json.loads((media_dir / "manifest.json").read_text())}


def run_cli(
    args: list[str], model: Path | None, timeout: float = 600, env_extra: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the installed command line as a user would (a separate process, real exit codes)."""
    env = dict(os.environ)
    env.pop("FORMCHECK_DEBUG", None)
    if model is not None:
        env["FORMCHECK_MODEL"] = str(Path(model).resolve())  # the run may have another working folder
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "formcheck", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd
    )


def live_on_clip(clip: Path, exercise: str, model: Path, tmp_path: Path) -> tuple[Path, list[dict]]:
    """`formcheck live` with a clip as its camera (no window, safety questions answered): its
    output folder and the cues it raised (live.json's)."""
    out = tmp_path / "live"
    proc = run_cli(["live", "--source", str(clip), "-e", exercise, "--no-window", "--yes", "--quiet", "--out", str(out)],
                   model, env_extra={"FORMCHECK_HOME": str(tmp_path / "home")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "live.json").read_text())["cues"]


def announced_port(proc: subprocess.Popen, timeout: float = 60) -> int:
    """The port a `formcheck serve --port 0` subprocess (stdout piped) announces: the system picks
    it as the server binds, so no other process can take it between choosing and binding."""
    fd = proc.stdout.fileno()  # type: ignore[union-attr]
    seen = b""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"formcheck serve ended before announcing its address (exit {proc.wait(10)}): {seen!r}")
        seen += chunk
        found = re.search(rb"formcheck dashboard on http://[^/\s]+:(\d+)/", seen)
        if found:
            return int(found.group(1))
    raise AssertionError(f"formcheck serve did not announce its address within {timeout:.0f} s: {seen!r}")


class AnalyzedClips:
    """Runs `formcheck analyze` once per (clip, exercise) for the whole test session."""

    def __init__(self, root: Path, model: Path) -> None:
        self.root = root
        self.model = model
        self._done: dict[tuple[str, str], Path] = {}

    def __call__(self, video: Path, exercise: str = "squat", *extra: str) -> Path:
        key = (str(video), exercise, *extra)
        if key not in self._done:
            out = self.root / f"{video.stem}-{exercise}-{len(self._done)}"
            proc = run_cli(["analyze", str(video), "--exercise", exercise, "--out", str(out), "--quiet", *extra], self.model)
            assert proc.returncode == 0, proc.stderr
            self._done[key] = out
        return self._done[key]


@pytest.fixture(scope="session")
def analyzed(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AnalyzedClips:
    return AnalyzedClips(tmp_path_factory.mktemp("analyzed"), model_path)


def load_summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def cached_real_clip(name: str) -> Path:
    """A clip of benchmarks/real_clips/manifest.json from the user cache, where
    benchmarks/real_clips/restore.py puts it; the test is skipped when it is not there."""
    from platformdirs import user_cache_dir

    clip = Path(user_cache_dir("formcheck")) / "real_clips" / name
    if not clip.is_file():
        pytest.skip(f"{clip.name} is not in the cache (benchmarks/real_clips/restore.py puts it there)")
    return clip
