"""A one-slot mailbox where the newest item wins: how a live camera hands frames to a slower
reader, so the reader stays current instead of falling ever further behind a queue."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1


class NewestSlot(Generic[T]):
    """`put` from one thread, `take` from another. An item replaced before it was taken is
    dropped (`put` says so, for counting). `end` closes the slot: the reader gets the pending
    item, then None, or the error `end` was given (a KeyboardInterrupt at once: a person asked
    to stop)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._ended = False
        self._error: BaseException | None = None

    def put(self, item: T) -> bool:
        """Offer `item`; True if it replaced one never taken. Ignored once the slot has ended."""
        with self._cond:
            if self._ended:
                return False
            replaced = self._item is not None
            self._item = item
            self._cond.notify_all()
            return replaced

    def end(self, error: BaseException | None = None) -> None:
        """No more items (the first call decides the error)."""
        with self._cond:
            if not self._ended:
                self._ended = True
                self._error = error
            self._cond.notify_all()

    @property
    def ended(self) -> bool:
        return self._ended

    def take(self) -> T | None:
        """The newest item, waiting for one; None once the slot has ended and is empty."""
        with self._cond:
            while self._item is None and not self._ended:
                self._cond.wait(_POLL_S)
            if isinstance(self._error, KeyboardInterrupt):
                raise self._error
            item, self._item = self._item, None
            if item is None and self._error is not None:
                raise self._error
            return item
