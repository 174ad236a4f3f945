"""Signal types by name. A new algorithm is one new module and one line here."""

from __future__ import annotations

from unleak.media.sniff import MediaKind
from unleak.signals.base import SignalType
from unleak.signals.exact import Md5Signal, Sha256Signal
from unleak.signals.pdq import PdqSignal
from unleak.signals.vpdq import VpdqSignal

_TYPES: dict[str, type[SignalType]] = {t.name: t for t in (PdqSignal, VpdqSignal, Sha256Signal, Md5Signal)}


def get_signal_type(name: str) -> type[SignalType]:
    try:
        return _TYPES[name]
    except KeyError:
        raise ValueError(f"unknown signal type {name!r}; known: {', '.join(sorted(_TYPES))}") from None


def signal_types(kind: MediaKind | None = None) -> list[type[SignalType]]:
    return [t for t in _TYPES.values() if kind is None or kind in t.media]


def register(signal_type: type[SignalType]) -> None:
    _TYPES[signal_type.name] = signal_type
