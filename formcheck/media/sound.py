"""Spoken or tone cues for the live window (`--sound`), played by a local program in a subprocess.

Preference: espeak-ng (Linux; `say` on macOS) speaks the cue; else a short tone through
paplay/pw-play/aplay. Where no player or no audio device exists, `Speaker.warning` says so and
every call is a no-op: the visual cues carry on alone. Playback never blocks the live loop and
never queues: a new cue cuts off whatever is still playing, other sentences wait their turn by
being skipped (a stale "set done" is worse than none).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SPEECH_PROGRAMS = ("espeak-ng", "espeak")
TONE_PLAYERS = ("paplay", "pw-play", "aplay")
TONE_HZ = 880.0
TONE_S = 0.18


@dataclass(frozen=True)
class Backend:
    kind: str  # "speech" | "tone"
    program: str  # absolute path

    def argv(self, text: str, tone_file: Path | None) -> list[str]:
        if self.kind == "speech":
            name = Path(self.program).name
            return [self.program, text] if name == "say" else [self.program, "-s", "170", text]
        return [self.program, str(tone_file)]


def audio_device_present(platform: str = sys.platform, env: dict[str, str] | None = None, dev: Path = Path("/dev/snd")) -> bool:
    """Whether something can play sound: a sound server socket or an ALSA playback device (Linux)."""
    if platform == "darwin":
        return True
    if not platform.startswith("linux"):
        return False
    env = dict(os.environ) if env is None else env
    if env.get("PULSE_SERVER"):
        return True
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and any((Path(runtime) / p).exists() for p in ("pulse/native", "pipewire-0")):
        return True
    try:
        return any(p.name.startswith("pcm") and p.name.endswith("p") for p in dev.iterdir())
    except OSError:
        return False


def find_backend(
    which: Callable[[str], str | None] = shutil.which, audio: Callable[[], bool] = audio_device_present
) -> tuple[Backend | None, str | None]:
    """(backend, None), or (None, why there is no sound)."""
    if not audio():
        return None, "no audio device found: cues are shown on screen only"
    for name in (*SPEECH_PROGRAMS, "say"):
        path = which(name)
        if path:
            return Backend("speech", path), None
    for name in TONE_PLAYERS:
        path = which(name)
        if path:
            return Backend("tone", path), "espeak-ng not installed: cues are a tone (install espeak-ng for spoken cues)"
    return None, "neither espeak-ng nor a sound player (paplay, pw-play, aplay) found: cues are shown on screen only"


def write_tone(path: Path, hz: float = TONE_HZ, seconds: float = TONE_S, rate: int = 22050) -> Path:
    """A short sine beep with soft edges, as a 16-bit mono WAV."""
    n = int(seconds * rate)
    fade = max(1, int(0.01 * rate))
    frames = bytearray()
    for i in range(n):
        env = min(1.0, i / fade, (n - 1 - i) / fade)
        frames += struct.pack("<h", int(0.6 * 32767 * env * math.sin(2 * math.pi * hz * i / rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


class Speaker:
    """Says things without blocking; `enabled=False` or no backend makes it silent."""

    def __init__(
        self,
        enabled: bool,
        *,
        backend: tuple[Backend | None, str | None] | None = None,
        popen: Callable[..., subprocess.Popen] = subprocess.Popen,
    ) -> None:
        self.backend: Backend | None = None
        self.warning: str | None = None
        self.spoken: list[str] = []  # what was actually handed to the player
        self._popen = popen
        self._proc: subprocess.Popen | None = None
        self._tone: Path | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        if not enabled:
            return
        self.backend, self.warning = backend if backend is not None else find_backend()
        if self.warning:
            log.warning("sound: %s", self.warning)
        if self.backend is not None and self.backend.kind == "tone":
            self._tmp = tempfile.TemporaryDirectory(prefix="formcheck-sound-")
            self._tone = write_tone(Path(self._tmp.name) / "cue.wav")

    @property
    def active(self) -> bool:
        return self.backend is not None

    def _busy(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def say(self, text: str, *, urgent: bool = False) -> bool:
        """Start saying `text`; an urgent one (a knee cue) cuts off what is playing. False if skipped."""
        if self.backend is None:
            return False
        if self._busy():
            if not urgent:
                return False
            self._proc.terminate()
        if self.backend.kind == "tone" and not urgent:
            return False  # a beep only means "knee"; other sentences are on screen
        try:
            self._proc = self._popen(
                self.backend.argv(text, self._tone), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            log.warning("sound: cannot run %s (%s): cues are shown on screen only", self.backend.program, exc)
            self.warning = f"cannot run {self.backend.program}: cues are shown on screen only"
            self.backend = None
            return False
        self.spoken.append(text)
        return True

    def say_all(self, texts: Sequence[str]) -> None:
        for text in texts:
            self.say(text)

    def close(self) -> None:
        if self._busy():
            try:
                self._proc.wait(timeout=3.0)  # let the last sentence finish
            except subprocess.TimeoutExpired:
                self._proc.terminate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
