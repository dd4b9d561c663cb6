"""Keeping the garbage collector out of the way of paced sends.

A long-lived bot process loads a large, permanent heap at start (the libraries, the language
models, the configuration). CPython's full (generation 2) collection walks all of it: on the
shared 2-core benchmark box that stalled a replica's event loop for 75-200 ms in the middle of a
round. A stall between a slot granted in the shared Redis budget and the request leaving bunches
requests at Telegram, whose strict one-second window then holds one too many and blocks the
whole token (see ``bot.shared_limit``). Freezing what survived start-up moves it out of the
collector's reach, so later collections walk only what was allocated since.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Collect once, then freeze every surviving object; returns how many are frozen.

    Call it once, when start-up is done. Frozen objects are never collected (they are the
    permanent part of the process anyway); cycles created later are collected as usual.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
