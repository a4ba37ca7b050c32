"""The body model and its pure maths: landmark names, geometry, the pose of one frame, smoothing
and the per-frame knee metrics. Numpy only; every other room builds on it."""
