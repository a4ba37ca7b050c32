"""Where `analyze_one` runs: a local process pool (`LocalPool`) or a Dask cluster (`DaskPool`).
Both take `VideoTask`s and give futures of `VideoResult`s; `formcheck batch` and the dashboard's
job runner use them the same way."""

from __future__ import annotations

import os
import queue
import signal
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from formcheck.batch.work import VideoTask, analyze_one, init_worker
from formcheck.errors import InputError

CLUSTER_EXTRA = "pip install 'formcheck[cluster]'"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LocalPool:
    """A spawn process pool on this machine; each worker loads its own pose model. Workers report
    which task they run and its frames through a queue, read by `drain`. With `die_with_parent`
    (Linux) a worker is killed when the thread that started it ends: a killed server leaves no
    analysis running on behind it."""

    def __init__(self, workers: int, *, die_with_parent: bool = False) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # MediaPipe and threads do not survive fork
        self.workers = workers
        self.messages = context.Queue()
        self.running: dict[int, int] = {}  # task index -> worker pid
        self.frames_done: dict[int, int] = {}
        self.frames_total: dict[int, int | None] = {}
        self._futures: dict[Future, VideoTask] = {}
        self._signalled: set[tuple[int, int]] = set()
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=init_worker,
            initargs=(self.messages, os.getpid() if die_with_parent else None),
        )  # fmt: skip

    def submit(self, task: VideoTask) -> Future:
        fut = self._executor.submit(analyze_one, task)
        self._futures[fut] = task
        fut.add_done_callback(lambda f: self._futures.pop(f, None))
        return fut

    def drain(self) -> int:
        """Read the workers' messages; returns the frames analysed since the last call (all tasks)."""
        new_frames = 0
        while True:
            try:
                kind, index, value = self.messages.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return new_frames
            if kind == "start":
                self.running[index] = value
            elif kind == "end":
                self.running.pop(index, None)
            elif kind == "frames_total":
                self.frames_total[index] = value
            elif kind == "frames":
                new_frames += max(0, value - self.frames_done.get(index, 0))
                self.frames_done[index] = value

    def forget(self, index: int) -> None:
        """Drop what is known of a finished task's progress."""
        self.running.pop(index, None)
        self.frames_done.pop(index, None)
        self.frames_total.pop(index, None)

    def stop(self, timeout: float = 300.0) -> None:
        """Drop the tasks not yet started and stop the running ones with SIGTERM (they write what
        they measured, marked partial); returns when every submitted task has ended, or at `timeout`."""
        for fut in list(self._futures):
            fut.cancel()
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            for index, pid in list(self.running.items()):  # a task starting meanwhile is stopped too
                if (index, pid) not in self._signalled:
                    self._signalled.add((index, pid))
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            if not self._futures or time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL every worker process (a stop that did not end in time)."""
        for process in list((getattr(self._executor, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, AttributeError):
                pass

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.messages.close()


class DaskPool:
    """The same tasks on a Dask cluster (an address, or a `distributed.Client` the caller owns).
    A task whose worker is lost is run again elsewhere, up to `retries` times. Dask cannot end a
    task that is running: `stop` drops the tasks and leaves the running ones to finish unread."""

    def __init__(self, scheduler: str | Any, retries: int = 2) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise InputError(f"--scheduler needs Dask: {CLUSTER_EXTRA}") from None
        self.own = not isinstance(scheduler, Client)
        self.retries = retries
        try:
            self.client = Client(scheduler, timeout="20s") if self.own else scheduler
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        self._futures: set[Any] = set()

    @property
    def workers(self) -> int:
        """Tasks the cluster runs at once now (at least 1, so work waits for workers to join)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - the scheduler went away: one task, which fails with its reason
            return 1

    def submit(self, task: VideoTask, key: str) -> Any:
        fut = self.client.submit(analyze_one, task, key=key, retries=self.retries, pure=False)
        self._futures.add(fut)
        fut.add_done_callback(self._futures.discard)
        return fut

    def stop(self) -> None:
        if self._futures:
            try:
                self.client.cancel(list(self._futures))
            except Exception:  # noqa: BLE001 - the scheduler went away: nothing left to cancel
                pass

    def close(self) -> None:
        if self.own:
            self.client.close()
