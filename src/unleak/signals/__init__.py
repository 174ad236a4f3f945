"""Fingerprints of media: one module per algorithm, found through the registry."""

from __future__ import annotations

from unleak.errors import MediaError
from unleak.signals.base import Signal, SignalType
from unleak.signals.media import Media
from unleak.signals.registry import get_signal_type, register, signal_types


def compute_signals(media: Media, *, fast: bool = False) -> dict[str, Signal]:
    """Every signal that applies to this media's kind, by type name."""
    return {t.name: t.compute(media, fast=fast) for t in signal_types(media.kind)}


__all__ = [
    "Media",
    "MediaError",
    "Signal",
    "SignalType",
    "compute_signals",
    "get_signal_type",
    "register",
    "signal_types",
]
