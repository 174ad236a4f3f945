"""Fingerprints of media: one module per algorithm, found through the registry (plug-ins by entry point)."""

from __future__ import annotations

from unleak.errors import MediaError
from unleak.signals.base import Example, IndexHit, InvalidSignal, LinearIndex, Signal, SignalIndex, SignalType
from unleak.signals.media import Media
from unleak.signals.registry import (
    ENTRY_POINT_GROUP,
    get_signal_type,
    register,
    reload_plugins,
    signal_types,
    type_for_exchange_name,
    unregister,
)


def compute_signals(media: Media, *, fast: bool = False) -> dict[str, Signal]:
    """Every signal that applies to this media's kind, by type name."""
    return {t.name: t.compute(media, fast=fast) for t in signal_types(media.kind)}


__all__ = [
    "ENTRY_POINT_GROUP",
    "Example",
    "IndexHit",
    "InvalidSignal",
    "LinearIndex",
    "Media",
    "MediaError",
    "Signal",
    "SignalIndex",
    "SignalType",
    "compute_signals",
    "get_signal_type",
    "register",
    "reload_plugins",
    "signal_types",
    "type_for_exchange_name",
    "unregister",
]
