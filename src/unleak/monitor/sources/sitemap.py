"""The `sitemap` source kind: sitemaps and sitemap indexes, every page and media URL they list."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from unleak.monitor.sources.base import SourceKind, SourceOptions, Task, register
from unleak.monitor.sources.builtin import _read_url_args
from unleak.net.html import looks_like_media_url

MAX_SITEMAP_DEPTH = 3
MAX_SITEMAP_URLS = 50_000

_LOC = re.compile(r"<((?:image:|video:)?(?:loc|content_loc|thumbnail_loc))>\s*(.*?)\s*</\1>", re.IGNORECASE | re.DOTALL)


@register
class SitemapSource(SourceKind):
    name = "sitemap"
    summary = "sitemaps (and sitemap indexes): every page they list"

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        return {"targets": _read_url_args(targets)}

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        for url in config["targets"]:
            yield Task(url, "sitemap")


def sitemap_tasks(task: Task, body: bytes) -> list[Task]:
    """The tasks a fetched sitemap names: its pages, image and video URLs as media, and, for a
    sitemap index, the sitemaps it lists (up to MAX_SITEMAP_DEPTH deep)."""
    text = body.decode("utf-8", "replace")
    is_index = "<sitemapindex" in text[:4096].lower()
    tasks: list[Task] = []
    for m in _LOC.finditer(text):
        if len(tasks) >= MAX_SITEMAP_URLS:
            break
        tag, url = m.group(1).lower(), unescape(m.group(2)).strip()
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        if tag != "loc":
            tasks.append(Task(url, "media", 0, task.url))
        elif is_index:
            if task.depth < MAX_SITEMAP_DEPTH:
                tasks.append(Task(url, "sitemap", task.depth + 1, task.url))
        else:
            tasks.append(Task(url, "media" if looks_like_media_url(url) else "page", 0, task.url))
    return tasks
