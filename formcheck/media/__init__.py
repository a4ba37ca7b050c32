"""Frames in and out: cameras and video files, the annotated-video writer, sound, the on-disk
recording of a session's landmarks, and the newest-frame slot between threads."""
