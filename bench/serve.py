"""Load test of `unleak serve` on loopback: hash lookups at 1 and 32 in flight, add-to-match, memory.

Fills a fresh store (SQLite) with N random PDQ hashes in one platform bank, makes a matcher and a
curator API key (so the keyed path is what is measured), starts `unleak serve` pinned to CPU 1,
and drives it from this process pinned to CPU 0. Every phase is bounded by a request count and a
time limit. Half the queries are bank hashes with 8 bits flipped, half random hashes.

Reference, in the same run: the same lookups through the library in this process
(`platform_banks.lookup`: store session, change-log poll, index, content rows) with no HTTP.

    python bench/serve.py --hashes 1000000 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import psutil

CHUNK = 100_000


def _fill(db_url: str, n: int, rng: np.random.Generator) -> list[str]:
    from sqlalchemy import insert

    from unleak.store import open_store
    from unleak.store.models import PlatformBank, PlatformChange, PlatformContent, PlatformSignal

    hashes = [bytes(row).hex() for row in rng.integers(0, 256, (n, 32), dtype=np.uint8)]
    store = open_store(db_url)
    now = datetime.now(UTC)
    with store.session() as s:
        s.execute(insert(PlatformBank), [{"id": 1, "name": "BENCH", "enabled_ratio": 1.0, "created_at": now}])
        s.add(PlatformChange(op="reset"))
    for start in range(0, n, CHUNK):
        part = range(start, min(n, start + CHUNK))
        with store.session() as s:
            s.execute(
                insert(PlatformContent),
                [{"id": i + 1, "bank_id": 1, "disable_until_ts": 1, "created_at": now} for i in part],
            )
            s.execute(insert(PlatformSignal), [{"content_id": i + 1, "type": "pdq", "value": hashes[i]} for i in part])
    store.close()
    return hashes


def _keys(db_url: str) -> tuple[str, str]:
    from unleak.serve_keys import add_key
    from unleak.store import open_store

    store = open_store(db_url)
    try:
        with store.session() as s:
            return add_key(s, "bench-matcher", "matcher")[1], add_key(s, "bench-curator", "curator")[1]
    finally:
        store.close()


def _flip(h: str, bits: int, rng: np.random.Generator) -> str:
    v = int(h, 16)
    for b in rng.choice(256, bits, replace=False):
        v ^= 1 << int(b)
    return f"{v:064x}"


def _reference(db_url: str, queries: list[str], seconds: float, limit: int) -> float:
    """Lookups a second through the library, in this process, one at a time."""
    from unleak import platform_banks as pb
    from unleak.store import open_store

    store = open_store(db_url)
    matcher = pb.PlatformMatcher()
    with store.session() as s:
        matcher.load(s)
    done, end = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end and done < limit:
        with store.session() as s:
            pb.lookup(s, matcher, "pdq", queries[done % len(queries)])
        done += 1
    rate = done / (time.perf_counter() - start)
    store.close()
    return rate


async def _load(base: str, token: str, queries: list[str], inflight: int, seconds: float, limit: int) -> dict:
    lat: list[float] = []
    found = 0
    sent = 0
    end = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers, timeout=30) as client:

        async def worker() -> None:
            nonlocal found, sent
            while sent < limit and time.perf_counter() < end:
                q = queries[sent % len(queries)]
                sent += 1
                t = time.perf_counter()
                r = await client.get("/m/lookup", params={"signal_type": "pdq", "signal": q})
                lat.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise SystemExit(f"lookup answered {r.status_code}: {r.text[:200]}")
                found += bool(r.json())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(inflight)))
        took = time.perf_counter() - start
    ms = np.array(lat) * 1000
    return {
        "rate": len(lat) / took,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "n": len(lat),
        "found": found,
    }


def _memory(pid: int) -> tuple[float, float, float]:
    """(RSS, USS, PSS) in MB of the server and its children (workers)."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    rss = uss = pss = 0.0
    for p in procs:
        info = p.memory_full_info()
        rss, uss, pss = rss + info.rss, uss + info.uss, pss + getattr(info, "pss", 0)
    return rss / 2**20, uss / 2**20, pss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hashes", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=15.0, help="time limit of each phase")
    ap.add_argument("--requests", type=int, default=50_000, help="request limit of each phase")
    ap.add_argument("--adds", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pinned = len(cpus) >= 2 and shutil.which("taskset") is not None
    if pinned:
        os.sched_setaffinity(0, {cpus[0]})
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="unleak-serve-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    hashes = _fill(db_url, args.hashes, rng)
    fill_s = time.perf_counter() - t0
    matcher_key, curator_key = _keys(db_url)
    queries = [
        _flip(hashes[int(i)], 8, rng) if k % 2 == 0 else bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
        for k, i in enumerate(rng.integers(0, len(hashes), 4096))
    ]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, UNLEAK_DB=db_url, UNLEAK_HOME=str(tmp))
    cmd = [sys.executable, "-m", "unleak", "serve", "--port", str(port), "--no-access-log"]
    cmd += ["--workers", str(args.workers)]
    if pinned:
        cmd = ["taskset", "-c", str(cpus[1]), *cmd]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(base + "/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.perf_counter() - t0 > 600:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        start_s = time.perf_counter() - t0
        asyncio.run(_load(base, matcher_key, queries, 1, 3, 200))  # warm up: key check, connections
        one = asyncio.run(_load(base, matcher_key, queries, 1, args.seconds, args.requests))
        many = asyncio.run(_load(base, matcher_key, queries, 32, args.seconds, args.requests))
        add_lat = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(args.adds):
                h = bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
                t = time.perf_counter()
                r = client.post(
                    "/c/bank/BENCH/signal", json={"pdq": h}, headers={"Authorization": f"Bearer {curator_key}"}
                )
                assert r.status_code == 200, r.text
                while True:
                    got = client.get(
                        "/m/lookup",
                        params={"signal_type": "pdq", "signal": h},
                        headers={"Authorization": f"Bearer {matcher_key}"},
                    ).json()
                    if "BENCH" in got:
                        break
                    if time.perf_counter() - t > 10:
                        raise SystemExit("an added hash was not matched within 10 s")
                add_lat.append(time.perf_counter() - t)
        rss, uss, pss = _memory(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    ref = _reference(db_url, queries, min(args.seconds, 10), args.requests)
    shutil.rmtree(tmp, ignore_errors=True)
    a = np.array(add_lat) * 1000
    where = f"server on CPU {cpus[1]}, load generator on CPU {cpus[0]}" if pinned else "unpinned (fewer than 2 CPUs)"
    print(f"unleak serve, SQLite, {args.workers} worker(s), API keys on; {where}")
    print(f"bank: {args.hashes:,} PDQ hashes (filled in {fill_s:.0f} s); server ready in {start_s:.1f} s")
    print()
    print("| measure | value |")
    print("|---|---|")
    for label, r in (("1 in flight", one), ("32 in flight", many)):
        print(
            f"| `GET /m/lookup` by hash, {label} | {r['rate']:,.0f} req/s, p50 {r['p50']:.2f} ms, "
            f"p99 {r['p99']:.2f} ms ({r['n']:,} requests, {r['found']:,} matched) |"
        )
    print(f"| reference: the same lookups through the library, in-process, no HTTP | {ref:,.0f} /s |")
    print(
        f"| add (`POST /c/bank/BENCH/signal`) until a lookup finds it | {args.adds} of {args.adds}, "
        f"p50 {np.percentile(a, 50):.1f} ms, max {a.max():.1f} ms |"
    )
    print(f"| server memory after the run | RSS {rss:,.0f} MB, USS {uss:,.0f} MB, PSS {pss:,.0f} MB |")


if __name__ == "__main__":
    main()
