"""Pause Python's cyclic garbage collector around work that makes many objects and no cycles.

Ranking a batch of subscribers makes a hundred thousand small objects (picks, reasons, plans)
that reference counting frees; meanwhile the collector, counting allocations, ran full
collections over every object of the process (papers, caches, subscribers), about a tenth of
the time of a ranking. Paused, it catches up with one young collection after the batch.
Reading the subscribers file is the same, except that what it makes is kept.

The objects alive when the pause begins are also frozen (`gc.freeze`) until it ends, then
handed back as old ones: otherwise the young ones among them were promoted batch after batch,
each promotion counting towards the next full collection, and a run of 10,000 subscribers still
made one every few dozen batches (0.08 s each for 500 papers and 10,000 profiles). An object
that becomes cyclic garbage is still collected, at the next full collection instead of a young
one.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0  # blocks running now, in any thread
_paused_here = False  # whether the first of them turned the collector off
_frozen_here = False  # whether the first of them froze the objects alive then


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run a block with the cyclic collector off and what was alive before it frozen; both
    undone when the last block running (in any thread) ends: the collector turned on only if
    it was on before the first began, and nothing frozen if something already was (the
    program's own `gc.freeze`, which one `gc.unfreeze` would undo)."""
    global _inside, _paused_here, _frozen_here
    with _lock:
        if _inside == 0:
            _paused_here = gc.isenabled()
            _frozen_here = gc.get_freeze_count() == 0
            gc.disable()
            if _frozen_here:
                gc.freeze()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                if _frozen_here:
                    gc.unfreeze()
                if _paused_here:
                    gc.enable()
