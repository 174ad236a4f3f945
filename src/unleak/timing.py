"""Phase timings: seconds spent in named phases, added up in a dict (the scan's and the matcher's)."""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager


@contextmanager
def timed(sink: MutableMapping[str, float] | None, phase: str) -> Iterator[None]:
    """Add the time spent in the block to ``sink[phase]``; with no sink, just run the block."""
    if sink is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        sink[phase] = sink.get(phase, 0.0) + time.perf_counter() - start
