"""The newest-frame mailbox live coaching and realtime sources share."""

from __future__ import annotations

import threading
import time

import pytest

from formcheck.media.newest_slot import NewestSlot

# Tests that run against the clock share one xdist worker (`--dist loadgroup`), so the CPU
# burners of one never load another.
pytestmark = pytest.mark.xdist_group("realtime")


def test_the_newest_item_wins_and_replacements_are_counted():
    slot: NewestSlot[int] = NewestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True  # 1 was never taken: dropped
    assert slot.take() == 2
    assert slot.put(3) is False
    slot.end()
    assert slot.put(4) is False, "nothing is accepted after the end"
    assert slot.take() == 3 and slot.take() is None


def test_an_error_comes_after_the_pending_item_but_an_interrupt_at_once():
    slot: NewestSlot[int] = NewestSlot()
    slot.put(1)
    slot.end(OSError("camera unplugged"))
    assert slot.take() == 1
    with pytest.raises(OSError, match="unplugged"):
        slot.take()
    urgent: NewestSlot[int] = NewestSlot()
    urgent.put(1)
    urgent.end(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        urgent.take()


def test_take_waits_for_a_writer_on_another_thread():
    slot: NewestSlot[str] = NewestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    started = time.monotonic()
    assert slot.take() == "frame"
    assert time.monotonic() - started >= 0.04
