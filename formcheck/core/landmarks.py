"""BlazePose landmark indices, by enum, and the leg groupings formcheck measures.

Odd indices are the person's own left, even their own right (not the image's sides).
"""

from __future__ import annotations

import enum


class PoseLandmark(enum.IntEnum):
    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_LANDMARKS = len(PoseLandmark)


class Side(str, enum.Enum):
    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> "Side":
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


SIDES: tuple[Side, Side] = (Side.LEFT, Side.RIGHT)


class LegJoints:
    """The landmarks of one leg, looked up once so geometry never indexes by hand."""

    def __init__(self, side: Side) -> None:
        p = "LEFT_" if side is Side.LEFT else "RIGHT_"
        self.side = side
        self.hip = PoseLandmark[p + "HIP"]
        self.knee = PoseLandmark[p + "KNEE"]
        self.ankle = PoseLandmark[p + "ANKLE"]
        self.heel = PoseLandmark[p + "HEEL"]
        self.toe = PoseLandmark[p + "FOOT_INDEX"]
        self.shoulder = PoseLandmark[p + "SHOULDER"]
        self.wrist = PoseLandmark[p + "WRIST"]


LEG = {side: LegJoints(side) for side in SIDES}

# Landmarks that flip together when the model confuses the two legs.
LEG_SWAP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (int(LEG[Side.LEFT].__dict__[name]), int(LEG[Side.RIGHT].__dict__[name]))
    for name in ("knee", "ankle", "heel", "toe")
)

# Bones drawn by the annotator.
SKELETON: tuple[tuple[PoseLandmark, PoseLandmark], ...] = (
    (PoseLandmark.LEFT_SHOULDER, PoseLandmark.RIGHT_SHOULDER),
    (PoseLandmark.LEFT_SHOULDER, PoseLandmark.LEFT_ELBOW),
    (PoseLandmark.LEFT_ELBOW, PoseLandmark.LEFT_WRIST),
    (PoseLandmark.RIGHT_SHOULDER, PoseLandmark.RIGHT_ELBOW),
    (PoseLandmark.RIGHT_ELBOW, PoseLandmark.RIGHT_WRIST),
    (PoseLandmark.LEFT_SHOULDER, PoseLandmark.LEFT_HIP),
    (PoseLandmark.RIGHT_SHOULDER, PoseLandmark.RIGHT_HIP),
    (PoseLandmark.LEFT_HIP, PoseLandmark.RIGHT_HIP),
    (PoseLandmark.LEFT_ANKLE, PoseLandmark.LEFT_HEEL),
    (PoseLandmark.LEFT_HEEL, PoseLandmark.LEFT_FOOT_INDEX),
    (PoseLandmark.LEFT_ANKLE, PoseLandmark.LEFT_FOOT_INDEX),
    (PoseLandmark.RIGHT_ANKLE, PoseLandmark.RIGHT_HEEL),
    (PoseLandmark.RIGHT_HEEL, PoseLandmark.RIGHT_FOOT_INDEX),
    (PoseLandmark.RIGHT_ANKLE, PoseLandmark.RIGHT_FOOT_INDEX),
)
