"""A toy source kind plug-in for the tests: a gallery's listing pages, with options of its own.
Registered through the entry-point group `unleak.source_kinds` by tests/test_source_plugin.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from unleak.monitor.sources import OptionSpec, SourceKind, SourceOptions, Task


class ListingSource(SourceKind):
    name = "listing"
    summary = "a gallery's newest-uploads listing, page by page"
    options = (
        OptionSpec("pages", int, "how many listing pages to read", default=1, min=1, max=100),
        OptionSpec("tag", str, "only uploads with this tag", multiple=True),
        OptionSpec("safe_search", bool, "ask the gallery to filter", default=False),
    )

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        return {"targets": list(targets), **cls.option_values(options)}

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        for url in config["targets"]:
            for page in range(1, config["pages"] + 1):
                query = [("page", page)] + [("tag", t) for t in config["tag"]]
                yield Task(f"{url}?{urlencode(query)}", "page")
