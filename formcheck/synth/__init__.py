"""Synthetic ground truth: a drawn person doing scripted exercises, with exact joint positions.

Real clips cannot say where a knee truly was; these can. `motion` poses a 3D skeleton per frame,
`render` draws it through a pinhole `camera`, `truth` writes the projected landmarks and the knee
measures beside each clip, `samples` makes the benchmark and committed sample sets, and `verify`
checks the drawings against the real pose model.
"""
