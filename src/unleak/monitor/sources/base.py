"""What a source plug-in provides, and the registry that finds them.

A source turns its settings into seed tasks; the scan loop visits tasks. Built-in task kinds are
`page` (HTML: media and links are read; media bytes are matched directly), `media`, `feed`,
`sitemap` and `file`. A plug-in decides which page links to follow (`follow`), and may handle a
task kind of its own (`handle`): a platform connector is one new module with one class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
    """What a plug-in's `handle` gets: the fetcher and the source's settings."""

    def __init__(self, fetcher: Fetcher, config: dict[str, Any]) -> None:
        self.fetcher = fetcher
        self.config = config


@dataclass
class SourceOptions:
    """Settings common to every kind, as given to `unleak source add`."""

    hosts: list[str] = field(default_factory=list)
    depth: int | None = None
    max_pages: int | None = None
    allow_networks: list[str] = field(default_factory=list)


class SourceKind:
    """One kind of source. Subclass, set `name` and `summary`, and call `register`."""

    name: ClassVar[str]
    summary: ClassVar[str]

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


_KINDS: dict[str, type[SourceKind]] = {}


def register(kind: type[SourceKind]) -> type[SourceKind]:
    _KINDS[kind.name] = kind
    return kind


def source_kinds() -> dict[str, type[SourceKind]]:
    from unleak.monitor.sources import builtin, feed, sitemap  # noqa: F401 (register the built-in kinds)

    return dict(_KINDS)


def get_source_kind(name: str) -> type[SourceKind]:
    kinds = source_kinds()
    if name not in kinds:
        raise UnleakError(f"unknown source kind {name!r}", hint="choose one of: " + ", ".join(sorted(kinds)))
    return kinds[name]
