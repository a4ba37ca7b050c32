"""The pose model at the edge: the MediaPipe landmarker, the watch for other people, the model file
store, and one video split into chunks across processes."""
