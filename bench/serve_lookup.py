"""A first, small measurement of `unleak serve` (not yet the full bench/serve.py of issue 15).

Fills a fresh SQLite store with N random PDQ hashes in one platform bank, starts `unleak serve`
on loopback, and measures from this process, one request in flight at a time:
- `GET /m/lookup` by hash: requests a second, p50 and p99 latency (half the queries are bank
  hashes with a few bits flipped, half random);
- add-to-match: `POST /c/bank/<b>/signal` followed at once by a lookup of that hash (the lookup
  must find it: the index is immediately consistent).
Client and server share the machine's cores (no pinning): treat the numbers as a floor.

    python bench/serve_lookup.py --hashes 100000 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np


def _fill(db_url: str, n: int, rng: np.random.Generator) -> list[str]:
    from sqlalchemy import insert

    from unleak.store import open_store
    from unleak.store.models import PlatformBank, PlatformContent, PlatformSignal

    hashes = [bytes(row).hex() for row in rng.integers(0, 256, (n, 32), dtype=np.uint8)]
    store = open_store(db_url)
    now = datetime.now(UTC)
    with store.session() as s:
        s.execute(insert(PlatformBank), [{"id": 1, "name": "BENCH", "enabled_ratio": 1.0, "created_at": now}])
        s.execute(
            insert(PlatformContent),
            [{"id": i + 1, "bank_id": 1, "disable_until_ts": 1, "created_at": now} for i in range(n)],
        )
        s.execute(
            insert(PlatformSignal), [{"content_id": i + 1, "type": "pdq", "value": h} for i, h in enumerate(hashes)]
        )
    store.close()
    return hashes


def _flip(h: str, bits: int, rng: np.random.Generator) -> str:
    v = int(h, 16)
    for b in rng.choice(256, bits, replace=False):
        v ^= 1 << int(b)
    return f"{v:064x}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hashes", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--adds", type=int, default=50)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="unleak-serve-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    hashes = _fill(db_url, args.hashes, rng)
    fill_s = time.perf_counter() - t0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, UNLEAK_DB=db_url, UNLEAK_HOME=str(tmp))
    proc = subprocess.Popen(
        [sys.executable, "-m", "unleak", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(base + "/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        start_s = time.perf_counter() - t0
        queries = [
            _flip(hashes[int(i)], 8, rng) if k % 2 == 0 else bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
            for k, i in enumerate(rng.integers(0, len(hashes), 4096))
        ]
        lat: list[float] = []
        found = 0
        with httpx.Client(base_url=base) as client:
            for q in queries[:50]:  # warm the connection
                client.get("/m/lookup", params={"signal_type": "pdq", "signal": q})
            end = time.perf_counter() + args.seconds
            k = 0
            while time.perf_counter() < end:
                q = queries[k % len(queries)]
                k += 1
                t = time.perf_counter()
                r = client.get("/m/lookup", params={"signal_type": "pdq", "signal": q})
                lat.append(time.perf_counter() - t)
                found += bool(r.json())
            add_lat = []
            for _ in range(args.adds):
                h = bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
                t = time.perf_counter()
                client.post("/c/bank/BENCH/signal", json={"pdq": h})
                got = client.get("/m/lookup", params={"signal_type": "pdq", "signal": h}).json()
                add_lat.append(time.perf_counter() - t)
                assert "BENCH" in got, "an added hash was not matched by the next lookup"
        ms = np.array(lat) * 1000
        print(f"bank: {args.hashes:,} PDQ hashes (filled in {fill_s:.1f} s); server ready in {start_s:.1f} s")
        print(
            f"GET /m/lookup, 1 in flight: {len(lat) / args.seconds:,.0f} req/s, "
            f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms "
            f"({found:,} of {len(lat):,} matched)"
        )
        a = np.array(add_lat) * 1000
        print(
            f"add + lookup finds it: {args.adds} of {args.adds}, p50 {np.percentile(a, 50):.1f} ms, max {a.max():.1f} ms"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
