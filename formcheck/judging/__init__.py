"""Judging a knee: the valgus verdict (one decision, read everywhere), rep scores, the per-frame
judge, live cues and spoken feedback, the standing set-up check. Pure computation."""
