"""What a source plug-in provides, and the registry that finds them.

A source turns its settings into seed tasks; the scan loop visits tasks. Built-in task kinds are
`page` (HTML: media and links are read; media bytes are matched directly), `media`, `feed`,
`sitemap` and `file`. A plug-in decides which page links to follow (`follow`), and may handle a
task kind of its own (`handle`): a platform connector is one new module with one class.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from unleak.errors import UnleakError
from unleak.net.urls import url_key

if TYPE_CHECKING:  # pragma: no cover
    from unleak.net.fetch import Fetcher


@dataclass
class Task:
    url: str
    kind: str  # page | media | feed | sitemap | file | a plug-in's own kind
    depth: int = 0
    parent_url: str | None = None
    hints: dict[str, Any] = field(default_factory=dict)  # e.g. uploader, posted_at from a feed

    @property
    def key(self) -> str:
        return url_key(self.url)


class TaskContext:
    """What a plug-in's `handle` gets: the fetcher and the source's settings, and `unreachable`
    to record what it could not read and why (a deleted post, a private account, a rate limit):
    the scan keeps those in its stats and the evidence log."""

    def __init__(self, fetcher: Fetcher, config: dict[str, Any]) -> None:
        self.fetcher = fetcher
        self.config = config
        self.missed: list[dict[str, str]] = []

    def unreachable(self, url: str, reason: str) -> None:
        from unleak.text import clip, neutralize

        self.missed.append({"url": clip(neutralize(url), 2000), "reason": clip(neutralize(reason), 500)})


@dataclass
class SourceOptions:
    """What `unleak source add` was given besides the targets.

    `options` holds a kind's own settings as text (`--option KEY=VALUE`, repeatable); the kind
    checks them against the `OptionSpec`s it declares. `hosts`, `depth` and `max_pages` are
    the older fixed flags, kept as another way to give the options of the same names."""

    hosts: list[str] = field(default_factory=list)
    depth: int | None = None
    max_pages: int | None = None
    allow_networks: list[str] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)
    api_base: str | None = None  # --api-base: the option `api_base` of the platform connectors

    @staticmethod
    def parse_pairs(pairs: Iterable[str]) -> dict[str, list[str]]:
        """`KEY=VALUE` strings to {key: [values]} (a key may repeat)."""
        out: dict[str, list[str]] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or not key:
                raise UnleakError(f"--option {pair!r} is not KEY=VALUE", hint="e.g. --option depth=3")
            out.setdefault(key, []).append(value.strip())
        return out


_BOOLEAN = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


@dataclass(frozen=True)
class OptionSpec:
    """One setting a source kind accepts: `unleak source add KIND ... --option name=value`."""

    name: str  # lower_snake_case; the key in the stored config
    type: type = str  # str, int, float or bool
    help: str = ""
    default: Any = None
    multiple: bool = False  # may be given more than once: the value is a list
    min: float | None = None  # for numbers
    max: float | None = None

    def parse(self, kind: str, raw: str) -> Any:
        """One value from its text, or a one-line UnleakError saying what is expected."""
        try:
            if self.type is bool:
                value: Any = _BOOLEAN[raw.strip().lower()]
            elif self.type in (int, float):
                value = self.type(raw.strip())
            else:
                value = self.type(raw)
        except (KeyError, ValueError):
            expected = {bool: "yes or no", int: "a whole number", float: "a number"}.get(self.type, "a value")
            raise UnleakError(f"{kind} option {self.name}={raw!r} is not {expected}", hint=self.help or None) from None
        low, high = self.min, self.max
        if self.type in (int, float) and ((low is not None and value < low) or (high is not None and value > high)):
            if low is not None and high is not None:
                bounds = f"between {low:g} and {high:g}"
            else:
                bounds = f"at least {low:g}" if low is not None else f"at most {high:g}"
            raise UnleakError(f"{kind} option {self.name} must be {bounds}, not {raw}")
        if self.type is str and not value.strip():
            raise UnleakError(f"{kind} option {self.name} is empty", hint=self.help or None)
        return value

    def describe(self) -> str:
        """As `unleak source kinds` lists it: `name=INT (default 2): help`."""
        text = f"{self.name}={self.type.__name__.upper()}" + (" (repeatable)" if self.multiple else "")
        if self.default not in (None, [], ""):
            text += f" (default {self.default})"
        return text + (f": {self.help}" if self.help else "")


class SourceKind:
    """One kind of source. Subclass, set `name` and `summary` (and `options`, the settings it
    accepts), and call `register`, or name it in the `unleak.source_kinds` entry points."""

    name: ClassVar[str]
    summary: ClassVar[str]
    options: ClassVar[tuple[OptionSpec, ...]] = ()

    @classmethod
    def option_values(cls, options: SourceOptions) -> dict[str, Any]:
        """This kind's settings from what the user gave, checked against `options`, with defaults.

        An option the kind does not declare is an error; the older flags (--host, --depth,
        --max-pages) count only for kinds that declare options of those names."""
        specs = {spec.name: spec for spec in cls.options}
        given = {k: list(v) for k, v in options.options.items()}
        legacy = {
            "host": list(options.hosts),
            "depth": options.depth,
            "max_pages": options.max_pages,
            "api_base": options.api_base,
        }
        for key, value in legacy.items():
            if key in specs and value not in (None, []):
                values = value if isinstance(value, list) else [value]
                given.setdefault(key, []).extend(str(v) for v in values)
        out: dict[str, Any] = {}
        for key, raws in given.items():
            spec = specs.get(key)
            if spec is None:
                known = ", ".join(sorted(specs)) or "none"
                raise UnleakError(f"{cls.name} sources have no option {key!r}", hint=f"its options: {known}")
            if len(raws) > 1 and not spec.multiple:
                raise UnleakError(f"{cls.name} option {key} is given {len(raws)} times", hint="give it once")
            values = [spec.parse(cls.name, r) for r in raws]
            out[key] = values if spec.multiple else values[0]
        for key, spec in specs.items():
            if key not in out:
                out[key] = list(spec.default or []) if spec.multiple else spec.default
        return out

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        """Check what the user gave and return the settings to store (JSON)."""
        raise NotImplementedError

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        raise NotImplementedError

    @classmethod
    def follow(cls, config: dict[str, Any], page: Task, link: str) -> bool:
        """Whether to visit a link found on a page (default: no, only its media)."""
        return False

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        """Visit a task of this plug-in's own kind; None for the built-in kinds."""
        return None

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        targets = config.get("targets") or []
        return ", ".join(targets[:3]) + (f" (+{len(targets) - 3})" if len(targets) > 3 else "")


ENTRY_POINT_GROUP = "unleak.source_kinds"
log = logging.getLogger("unleak.monitor")

_KINDS: dict[str, type[SourceKind]] = {}
_plugins_loaded = False
_builtin: frozenset[str] | None = None


def register(kind: type[SourceKind]) -> type[SourceKind]:
    _KINDS[kind.name] = kind
    return kind


def _load_plugins() -> None:
    """Kinds named in the `unleak.source_kinds` entry points (`name = package.module:Class`).
    One that cannot be loaded, is not a SourceKind, or takes a taken name is skipped with a warning."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - any error in third-party code: skip the plug-in, say why
            log.warning("source kind plug-in %r (%s) could not be loaded: %s", ep.name, ep.value, exc)
            continue
        if not (isinstance(obj, type) and issubclass(obj, SourceKind)):
            problem = "it is not a subclass of unleak.monitor.sources.SourceKind"
        elif getattr(obj, "name", None) != ep.name:
            problem = f"the entry point's name must be the kind's name, {getattr(obj, 'name', None)!r}"
        elif ep.name in _KINDS and _KINDS[ep.name] is not obj:
            problem = f"the name {ep.name!r} is taken by {_KINDS[ep.name].__module__}.{_KINDS[ep.name].__name__}"
        else:
            _KINDS[ep.name] = obj
            continue
        log.warning("source kind plug-in %r (%s) is ignored: %s", ep.name, ep.value, problem)


def reload_plugins() -> None:
    """Read the entry points again (tests; a plug-in installed into a running process). Kinds
    registered in-process are forgotten too; the built-in ones stay."""
    global _plugins_loaded
    builtin = _builtin_names()
    for name in [n for n in _KINDS if n not in builtin]:
        del _KINDS[name]
    _plugins_loaded = False


def _builtin_names() -> frozenset[str]:
    global _builtin
    if _builtin is None:
        from unleak.monitor.sources import builtin, feed, platforms, sitemap  # importing registers them

        modules = {builtin.__name__, feed.__name__, sitemap.__name__, platforms.__name__}
        _builtin = frozenset(n for n, k in _KINDS.items() if k.__module__ in modules)
    return _builtin


def source_kinds() -> dict[str, type[SourceKind]]:
    _builtin_names()
    _load_plugins()
    return dict(_KINDS)


def get_source_kind(name: str) -> type[SourceKind]:
    kinds = source_kinds()
    if name not in kinds:
        raise UnleakError(f"unknown source kind {name!r}", hint="choose one of: " + ", ".join(sorted(kinds)))
    return kinds[name]
