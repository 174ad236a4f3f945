"""The built-in source kinds folder, urls and crawl (feed and sitemap have a module each)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from unleak.errors import UnleakError
from unleak.media.files import read_regular
from unleak.monitor.sources.base import OptionSpec, SourceKind, SourceOptions, Task, register
from unleak.text import check_name, clip, neutralize


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnleakError(
            f"{clip(neutralize(url))!r} is not an http(s) URL", hint="give full URLs such as https://example.com/page"
        )
    return url


def _read_url_args(targets: list[str]) -> list[str]:
    """URLs given directly, or `@file` naming a file with one URL a line (# comments allowed)."""
    urls: list[str] = []
    for t in targets:
        if t.startswith("@"):
            try:
                data = read_regular(Path(t[1:]).expanduser(), 100 * 1024 * 1024)  # a FIFO would block open()
                lines = data.decode("utf-8").splitlines()
            except UnicodeDecodeError:
                raise UnleakError(f"the URL list {clip(t[1:])} is not UTF-8 text") from None
            except UnleakError as exc:
                raise UnleakError(f"cannot read the URL list: {exc.message}") from None
            urls += [_check_url(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
        else:
            urls.append(_check_url(t))
    if not urls:
        raise UnleakError("no URLs given")
    return urls


def host_allowed(url: str, hosts: list[str]) -> bool:
    """The URL's host is one of `hosts` or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


@register
class FolderSource(SourceKind):
    name = "folder"
    summary = "media files in local folders (searched recursively)"

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        paths = []
        for t in targets:
            try:
                p = Path(t).expanduser().resolve()
            except (OSError, RuntimeError):
                raise UnleakError(f"{t}: a loop of symbolic links", hint="give a real folder") from None
            if not p.exists():
                raise UnleakError(f"{t}: no such folder or file")
            paths.append(str(p))
        return {"targets": paths}

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        from unleak.media.files import iter_media_paths

        for path in iter_media_paths(config["targets"]):
            try:
                where = path.resolve()
            except (OSError, RuntimeError):  # a link loop: its task fails on its own, the scan goes on
                where = path.absolute()
            yield Task(where.as_uri(), "file")


@register
class UrlListSource(SourceKind):
    name = "urls"
    summary = "a list of page or media URLs (give them, or @file with one a line)"

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        return {"targets": _read_url_args(targets)}

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        for url in config["targets"]:
            yield Task(url, "page")


@register
class CrawlSource(SourceKind):
    name = "crawl"
    summary = "a website crawled from a start URL, within given hosts and depth"
    options = (
        OptionSpec("host", str, "stay on these hosts and their subdomains (default: the start URLs')", multiple=True),
        OptionSpec("depth", int, "how many links deep", default=2, min=0, max=50),
        OptionSpec("max_pages", int, "stop after this many pages", default=10_000, min=1),
    )

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        urls = _read_url_args(targets)
        values = cls.option_values(options)
        hosts = [check_name(h, "host", max_length=253).lower() for h in values["host"]] or sorted(
            {urlsplit(u).hostname or "" for u in urls}
        )
        return {"targets": urls, "hosts": hosts, "depth": values["depth"], "max_pages": values["max_pages"]}

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        for url in config["targets"]:
            yield Task(url, "page")

    @classmethod
    def follow(cls, config: dict[str, Any], page: Task, link: str) -> bool:
        return page.depth < config["depth"] and host_allowed(link, config["hosts"])

    @classmethod
    def describe(cls, config: dict[str, Any]) -> str:
        return f"{', '.join(config['targets'])} (hosts {', '.join(config['hosts'])}, depth {config['depth']})"
