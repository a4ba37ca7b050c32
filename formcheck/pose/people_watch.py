"""When to look for a second person, and when to track two.

Tracking one pose is the cheap case: MediaPipe's VIDEO mode crops each frame from the previous
frame's landmarks and runs its person detector only when it loses the person. Asking for two
poses runs the detector on every frame while fewer are found (about 1.5x the model's cost,
benchmarks/RESULTS.md Speed), which only pays while someone else is in view, so that analysis
can stay with the person it started with instead of whoever the detector scores highest.

`PeopleWatch` is the policy, apart from the model so tests can drive it with plain numbers:
while one pose is tracked, look for others on one frame every `check_every_s` (and on the
first frame, so a second person in view from the start is handled from the start); from the
moment a look sees two or more, track two; go back to one after `alone_s` of tracked frames
with one person or none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# One look every 2 s is about 2.5% more model work at 30 fps (a two-pose IMAGE-mode call is about
# 1.5x a tracked frame), done beside the tracker on the other core (formcheck/pose/landmarker.py); a person
# walking in is then seen within about 2 s, during which the one-pose tracker stays on the
# person it was following.
CHECK_EVERY_S = 2.0
# How long the second person must be gone before tracking drops back to one pose: long enough
# that someone passing behind, or a missed detection, does not make it switch back and forth.
ALONE_S = 3.0


@dataclass
class PeopleWatch:
    check_every_s: float = CHECK_EVERY_S
    alone_s: float = ALONE_S
    tracking: int = 1  # poses the tracker asks the model for
    _next_check_s: float = field(default=-math.inf, repr=False)
    _alone_since_s: float | None = field(default=None, repr=False)

    def check_due(self, t_s: float) -> bool:
        """Whether this frame should get a look for other people (never while tracking two)."""
        return self.tracking == 1 and t_s >= self._next_check_s

    def checked(self, t_s: float, people: int) -> None:
        """A look at the frame at `t_s` saw `people` people."""
        self._next_check_s = t_s + self.check_every_s
        if people >= 2:
            self.tracking = 2
            self._alone_since_s = None

    def tracked(self, t_s: float, people: int) -> None:
        """The tracker found `people` people in the frame at `t_s`."""
        if self.tracking != 2:
            return
        if people >= 2:
            self._alone_since_s = None
        elif self._alone_since_s is None:
            self._alone_since_s = t_s
        elif t_s - self._alone_since_s >= self.alone_s:
            self.tracking = 1
            self._alone_since_s = None
            self._next_check_s = t_s + self.check_every_s
