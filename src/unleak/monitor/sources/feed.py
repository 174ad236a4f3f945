"""The `feed` source kind: RSS and Atom feeds, each entry's page and enclosures."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from unleak.monitor.sources.base import SourceKind, SourceOptions, Task, register
from unleak.monitor.sources.builtin import _read_url_args
from unleak.net.html import looks_like_media_url, post_time

MAX_FEED_ENTRIES = 5000


@register
class FeedSource(SourceKind):
    name = "feed"
    summary = "RSS or Atom feeds: each entry's page and enclosures"

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        return {"targets": _read_url_args(targets)}

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        for url in config["targets"]:
            yield Task(url, "feed")


def feed_tasks(task: Task, body: bytes, final_url: str) -> list[Task]:
    """The tasks a fetched feed names: each entry's page (or media), and its enclosures and
    thumbnails as media, with the entry's author and date as hints."""
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": final_url})
    tasks: list[Task] = []
    for entry in parsed.entries[:MAX_FEED_ENTRIES]:
        hints = {}
        author = _feed_author(entry)
        if author:
            hints["uploader"] = author
        posted = entry.get("published") or entry.get("updated")
        if posted:
            hints["posted_raw"] = str(posted)[:100]
            when = post_time(str(posted)) or _feed_time(entry)
            if when:
                hints["posted_at"] = when
        link = entry.get("link")
        if link and urlsplit(link).scheme in ("http", "https"):
            kind = "media" if looks_like_media_url(link) else "page"
            tasks.append(Task(link, kind, 0, task.url, dict(hints)))
        media_urls = [e.get("href") for e in entry.get("enclosures", [])]
        media_urls += [m.get("url") for m in entry.get("media_content", [])]
        media_urls += [m.get("url") for m in entry.get("media_thumbnail", [])]
        for u in media_urls:
            if u and urlsplit(u).scheme in ("http", "https"):
                tasks.append(Task(u, "media", 0, link or task.url, {**hints, "page_url": link or task.url}))
    return tasks


def _feed_time(entry: Any) -> str | None:
    """The entry's time as feedparser read it (UTC), for dates written in a form post_time does not take."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed) if parsed else None
    except (TypeError, ValueError):
        return None


def _feed_author(entry: Any) -> str | None:
    """The entry's author: Atom's name, dc:creator, or RSS's "email (Name)" as the name."""
    author = str(entry.get("author") or (entry.get("author_detail") or {}).get("name") or "").strip()
    m = re.fullmatch(r"\S+@\S+\s+\((.+)\)", author)  # feedparser keeps RSS <author> as written
    return (m.group(1).strip() if m else author)[:200] or None
