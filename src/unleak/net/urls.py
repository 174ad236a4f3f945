"""Keys for URLs: one fixed-size, index-friendly digest per URL, as stored by scans and sightings."""

from __future__ import annotations

import hashlib


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
