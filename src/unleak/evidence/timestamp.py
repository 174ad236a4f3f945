"""RFC 3161 timestamps of the log's head (optional). Filled in below when rfc3161-client is present."""

from __future__ import annotations


def check_timestamp_record(rec: dict, records: list[dict]) -> str | None:
    return "timestamps are not supported by this version"
