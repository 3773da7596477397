"""Pause Python's cyclic garbage collector around work that makes many objects and no cycles.

Ranking a batch of subscribers makes a hundred thousand small objects (picks, reasons, plans)
that reference counting frees; meanwhile the collector, counting allocations, ran full
collections over every object of the process (papers, caches, subscribers), about a tenth of
the time of a ranking. Paused, it catches up with one young collection after the batch.
Reading the subscribers file is the same, except that what it makes is kept.

Nothing is frozen (`gc.freeze`) for the pause, although that saved the one full collection
left in a ranking of 10,000 profiles: freezing resets the collector's counts, so cyclic garbage
made just before each of many short pauses (a daemon's) was never collected at all.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0  # blocks running now, in any thread
_paused_here = False  # whether the first of them turned the collector off


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run a block with the cyclic collector off, and on again when the last block running
    (in any thread) ends, if it was on before the first began."""
    global _inside, _paused_here
    with _lock:
        if _inside == 0:
            _paused_here = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _paused_here:
                gc.enable()
