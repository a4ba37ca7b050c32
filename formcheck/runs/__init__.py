"""Running a session end to end: `analyze` (a recorded video) and `live` (a camera), their output
folder committed whole, and how a stop signal ends them."""
