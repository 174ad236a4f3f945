"""A platform's client for Meta's Hasher-Matcher-Actioner, written only against HMA's documented
HTTP calls (create a bank, add a hash, hash an upload, look it up). It must work unchanged
against `unleak serve`; tests/test_serve.py runs it.

Usage: python tests/hma_client.py BASE_URL IMAGE_FILE BANK_NAME
Prints one JSON line with what HMA would have answered.
"""

from __future__ import annotations

import json
import sys

import httpx


def create_bank(client: httpx.Client, name: str) -> dict:
    r = client.post("/c/banks", json={"name": name})
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()


def add_signal(client: httpx.Client, bank: str, pdq: str) -> int:
    r = client.post(f"/c/bank/{bank}/signal", json={"pdq": pdq})
    r.raise_for_status()
    return r.json()["id"]


def hash_upload(client: httpx.Client, path: str) -> str:
    with open(path, "rb") as fh:
        r = client.post("/h/hash", files={"photo": fh})
    r.raise_for_status()
    return r.json()["pdq"]


def lookup(client: httpx.Client, pdq: str) -> dict:
    r = client.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq})
    r.raise_for_status()
    return r.json()


def lookup_upload(client: httpx.Client, path: str) -> dict:
    with open(path, "rb") as fh:
        r = client.post("/m/lookup", files={"photo": fh})
    r.raise_for_status()
    return r.json()


def main(base: str, image: str, bank: str) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.get("/status").text == "I-AM-ALIVE"
        create_bank(client, bank)
        pdq = hash_upload(client, image)
        content_id = add_signal(client, bank, pdq)
        by_hash = lookup(client, pdq)
        by_upload = lookup_upload(client, image)
        print(json.dumps({"pdq": pdq, "id": content_id, "lookup": by_hash, "lookup_upload": by_upload}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
