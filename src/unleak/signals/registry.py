"""Signal types by name: the built-in ones, and plug-ins found through the entry-point group
`unleak.signal_types`.

A package adds a type by naming its `SignalType` subclass in its metadata, under the type's name::

    [project.entry-points."unleak.signal_types"]
    colour_histogram = "my_package.signals:ColourHistogram"

Plug-ins are loaded once, on first use. One that cannot be loaded, is not a SignalType, or
takes a built-in type's name is skipped with a warning in the log: a broken plug-in never
stops unleak from matching with the types it has.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import entry_points

from unleak.media.sniff import MediaKind
from unleak.signals.base import SignalType
from unleak.signals.exact import Md5Signal, Sha256Signal
from unleak.signals.pdq import PdqSignal
from unleak.signals.vpdq import VpdqSignal

ENTRY_POINT_GROUP = "unleak.signal_types"
BUILTIN: tuple[type[SignalType], ...] = (PdqSignal, VpdqSignal, Sha256Signal, Md5Signal)

log = logging.getLogger("unleak.signals")

_TYPES: dict[str, type[SignalType]] = {t.name: t for t in BUILTIN}
_plugins_loaded = False


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - any error in third-party code: skip the plug-in, say why
            log.warning("signal type plug-in %r (%s) could not be loaded: %s", ep.name, ep.value, exc)
            continue
        problem = _problem(obj)
        if problem is None and obj.name != ep.name:
            problem = f"the entry point's name must be the type's name, {obj.name!r}"
        if problem is None and obj.name in _TYPES and _TYPES[obj.name] is not obj:
            problem = f"the name {obj.name!r} is taken by {_TYPES[obj.name].__module__}.{_TYPES[obj.name].__name__}"
        if problem:
            log.warning("signal type plug-in %r (%s) is ignored: %s", ep.name, ep.value, problem)
            continue
        _TYPES[obj.name] = obj


def _problem(obj: object) -> str | None:
    """Why `obj` cannot be registered as a signal type, or None."""
    if not (isinstance(obj, type) and issubclass(obj, SignalType)):
        return "it is not a subclass of unleak.signals.SignalType"
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        return "its name must be lower_snake_case (a-z, 0-9, _), at most 40 characters"
    if not getattr(obj, "media", None) or not set(obj.media) <= set(MediaKind):
        return "its `media` must name the kinds of media it applies to (MediaKind.IMAGE, MediaKind.VIDEO)"
    return None


def get_signal_type(name: str) -> type[SignalType]:
    """The registered signal type called `name` (pdq, vpdq, sha256, md5, or a plugin's)."""
    _load_plugins()
    try:
        return _TYPES[name]
    except KeyError:
        raise ValueError(f"unknown signal type {name!r}; known: {', '.join(sorted(_TYPES))}") from None


def signal_types(kind: MediaKind | None = None) -> list[type[SignalType]]:
    """The registered types (built-in first), or those that apply to one kind of media."""
    _load_plugins()
    return [t for t in _TYPES.values() if kind is None or kind in t.media]


def register(signal_type: type[SignalType]) -> type[SignalType]:
    """Add a type in-process (a plug-in installed as a package uses the entry point instead)."""
    problem = _problem(signal_type)
    if problem:
        raise TypeError(f"cannot register {signal_type!r} as a signal type: {problem}")
    _TYPES[signal_type.name] = signal_type
    return signal_type


def unregister(name: str) -> None:
    """Forget a type registered in-process (tests); built-in types stay."""
    if name in _TYPES and _TYPES[name] not in BUILTIN:
        del _TYPES[name]


def reload_plugins() -> None:
    """Read the entry points again (after installing a plug-in in a running process, and in tests).
    Types registered in-process are forgotten too; the built-in ones stay."""
    global _plugins_loaded
    for name in [n for n, t in _TYPES.items() if t not in BUILTIN]:
        del _TYPES[name]
    _plugins_loaded = False
    _load_plugins()


def type_for_exchange_name(name: str) -> type[SignalType] | None:
    """The type behind a name in a threatexchange / HMA hash list (`pdq`, `video_md5`, ...), or
    one of our own type names."""
    for t in signal_types():
        if name == t.name or name in t.exchange_names.values():
            return t
    return None
