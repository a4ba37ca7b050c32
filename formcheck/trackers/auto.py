"""`--exercise auto`: counts nothing while the clip plays; the report pass recognises the exercise
(formcheck.pipeline.exercise_detect) and counts with that exercise's tracker."""

from __future__ import annotations

from formcheck.core.metrics import Metrics
from formcheck.trackers.base import Event, Tracker, register


@register
class AutoTracker(Tracker):
    name = "auto"
    description = "recognise the exercise from the clip (summary.json says which, and how sure)"

    def update(self, i: int, m: Metrics) -> list[Event]:
        return []
