"""The start-up heap is frozen, so full collections do not stall a running bot."""

from __future__ import annotations

import gc

from bot.heap import settle_heap


def test_settling_freezes_the_start_up_heap_and_keeps_collecting_new_garbage():
    try:
        frozen = settle_heap()
        assert frozen > 1000 and gc.get_freeze_count() == frozen
        # What start-up left is out of the collector's reach: a full collection walks only
        # what came after (tracked objects outside the permanent generation).
        assert len(gc.get_objects()) < frozen / 2

        class Cycle:
            pass

        cycle = Cycle()
        cycle.me = cycle  # type: ignore[attr-defined]
        del cycle
        assert gc.collect() >= 1  # new garbage is still collected
    finally:
        gc.unfreeze()
