"""Many videos in one run: find them, analyse each on a local process pool or a Dask cluster,
skip the ones already done, and write an index of the results (batch.csv, batch.html)."""

from formcheck.batch.inputs import find_videos, read_patient_map
from formcheck.batch.run import BatchOptions, BatchResult, run_batch
from formcheck.batch.work import VideoResult, VideoTask

__all__ = ["BatchOptions", "BatchResult", "VideoResult", "VideoTask", "find_videos", "read_patient_map", "run_batch"]
