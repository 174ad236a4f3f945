"""Load test of `unleak serve` on loopback: hash lookups at 1 and 32 in flight, uploads,
add-to-match, memory.

Fills a fresh store (SQLite, bulk insert) with N random PDQ hashes in one platform bank, makes a
matcher and a curator API key (so the keyed path is what is measured), starts `unleak serve
--workers W` pinned to CPU 1, and drives it from this process pinned to CPU 0. Every phase is
bounded by a request count and a time limit. Half the queries are bank hashes with 8 bits
flipped, half random hashes; a lookup counts only when it answers 200 with exactly the expected
body. The load generator speaks HTTP/1.1 on raw asyncio streams (keep-alive, one connection per
request in flight): an HTTP client library costs more CPU than the server's answer.

References, in the same run: the same lookups through the library in this process
(`platform_banks.lookup`, no HTTP), and `unleak hash` on the uploaded files (pinned to CPU 1).

    python bench/serve.py --hashes 10000000 --workers 2 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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
    """N random PDQ hashes in bank BENCH, written straight through sqlite3 (bulk, no ORM)."""
    import sqlite3

    from sqlalchemy import insert

    from unleak.store import open_store
    from unleak.store.models import PlatformBank, PlatformChange

    store = open_store(db_url)
    with store.session() as s:
        s.execute(
            insert(PlatformBank), [{"id": 1, "name": "BENCH", "enabled_ratio": 1.0, "created_at": datetime.now(UTC)}]
        )
        s.add(PlatformChange(op="reset"))
    store.close()
    db = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    (created,) = db.execute("SELECT created_at FROM platform_banks WHERE id = 1").fetchone()
    db.execute("PRAGMA synchronous = OFF")
    hashes: list[str] = []
    for start in range(0, n, CHUNK):
        k = min(n, start + CHUNK) - start
        raw = rng.integers(0, 256, (k, 32), dtype=np.uint8).tobytes().hex()
        part = [raw[i * 64 : (i + 1) * 64] for i in range(k)]
        hashes += part
        ids = range(start + 1, start + k + 1)
        db.executemany(
            "INSERT INTO platform_content (id, bank_id, disable_until_ts, created_at) VALUES (?, 1, 1, ?)",
            ((i, created) for i in ids),
        )
        db.executemany("INSERT INTO platform_signals (content_id, type, value) VALUES (?, 'pdq', ?)", zip(ids, part))
        db.commit()
    db.close()
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
    """Lookups a second through the library, in this process, one at a time, as a server makes
    them (a watch on the store, matched rows kept once read)."""
    from unleak import platform_banks as pb
    from unleak.store import open_store

    store = open_store(db_url)
    with store.session() as s:
        matcher = pb.PlatformMatcher(watch=pb.watch_for(s))
        matcher.load(s)
        for q in queries:  # warm up: every matched row read once
            pb.lookup(s, matcher, "pdq", q)
    done, end = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end and done < limit:
        with store.session() as s:
            pb.lookup(s, matcher, "pdq", queries[done % len(queries)])
        done += 1
    rate = done / (time.perf_counter() - start)
    matcher.close()
    store.close()
    return rate


def _cpu_s(pid: int) -> float:
    """CPU seconds used so far by the server and its worker processes."""
    total = 0.0
    for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        t = p.cpu_times()
        total += t.user + t.system
    return total


def _request(token: str, q: str) -> bytes:
    return (
        f"GET /m/lookup?signal_type=pdq&signal={q} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


async def _load(
    port: int, token: str, queries: list[str], expect: list[bytes], inflight: int, seconds: float, limit: int
) -> dict:
    """`inflight` keep-alive connections, each sending its next lookup as soon as the last is
    answered; counts the answers that are 200 with exactly the expected body."""
    lat: list[float] = []
    bad: list[str] = []
    sent = 0
    end = time.perf_counter() + seconds
    requests = [_request(token, q) for q in queries]

    async def worker() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < limit and time.perf_counter() < end:
                k = sent % len(queries)
                sent += 1
                t = time.perf_counter()
                writer.write(requests[k])
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                lat.append(time.perf_counter() - t)
                if not head.startswith(b"HTTP/1.1 200 ") or body != expect[k]:
                    bad.append(f"{head.split(b' ', 2)[1].decode()} {body[:120]!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    took = time.perf_counter() - start
    if bad:
        raise SystemExit(f"{len(bad)} wrong answers, e.g. {bad[0]}")
    ms = np.array(lat) * 1000
    return {
        "rate": len(lat) / took,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "n": len(lat),
        "found": sum(1 for k in range(len(lat)) if expect[k % len(expect)] != b"{}"),
    }


def _run_load(*args: object) -> dict:
    try:
        import uvloop

        return uvloop.run(_load(*args))  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(_load(*args))  # type: ignore[arg-type]


def _photos(folder: Path, count: int) -> list[Path]:
    """`count` different 1 MP JPEGs from scikit-image's sample pictures (no people)."""
    from PIL import Image
    from skimage import data

    pictures = [data.chelsea(), data.coffee(), data.rocket(), data.hubble_deep_field()]
    out = []
    for i in range(count):
        img = Image.fromarray(pictures[i % len(pictures)]).resize((1000 + i, 1000))
        path = folder / f"photo{i}.jpg"
        img.save(path, quality=90)
        out.append(path)
    return out


def _uploads(base: str, token: str, files: list[Path], seconds: float) -> tuple[float, int]:
    """Upload lookups a second, one at a time (`POST /m/lookup`, field `photo`)."""
    bodies = [p.read_bytes() for p in files]
    done, end = 0, time.perf_counter() + seconds
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        client.post("/m/lookup", files={"photo": ("w.jpg", bodies[0], "image/jpeg")})  # warm up
        start = time.perf_counter()
        while done < len(bodies) and time.perf_counter() < end:
            r = client.post("/m/lookup", files={"photo": (f"{done}.jpg", bodies[done], "image/jpeg")})
            if r.status_code != 200 or "pdq" not in r.json():
                raise SystemExit(f"upload answered {r.status_code}: {r.text[:200]}")
            done += 1
        return done / (time.perf_counter() - start), done


def _hash_cli(files: list[Path], cpu: int | None, env: dict[str, str]) -> tuple[float, float]:
    """`unleak hash` on these files (pinned like the server): files a second by wall time and by
    CPU time, each for all the files less for one, so start-up is not counted."""

    def took(paths: list[Path]) -> tuple[float, float]:
        cmd = [sys.executable, "-m", "unleak", "hash", "--json", *map(str, paths)]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return time.perf_counter() - t, used

    one_wall, one_cpu = took(files[:1])
    all_wall, all_cpu = took(files)
    n = len(files) - 1
    return n / max(1e-9, all_wall - one_wall), n / max(1e-9, all_cpu - one_cpu)


def _memory(pid: int) -> list[tuple[int, float, float, float, float]]:
    """(pid, RSS, PSS, USS, anonymous) in MB of the server and each of its processes, from
    smaps_rollup. USS counts a page of the mapped index as private to the one worker that has
    touched it so far; anonymous is the memory a process allocated itself."""
    out = []
    for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        fields: dict[str, int] = {}
        with open(f"/proc/{p.pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    fields[parts[0].rstrip(":")] = int(parts[1])
        uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        rss, pss, anon = (fields.get(k, 0) / 1024 for k in ("Rss", "Pss", "Anonymous"))
        out.append((p.pid, rss, pss, uss / 1024, anon))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hashes", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=10.0, help="time limit of each phase")
    ap.add_argument("--requests", type=int, default=50_000, help="request limit of each phase")
    ap.add_argument("--adds", type=int, default=50)
    ap.add_argument("--uploads", type=int, default=20, help="1 MP JPEGs uploaded to POST /m/lookup")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pinned = len(cpus) >= 2 and shutil.which("taskset") is not None
    if pinned:
        os.sched_setaffinity(0, {cpus[0]})
    server_cpu = cpus[1] if pinned else None
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="unleak-serve-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    hashes = _fill(db_url, args.hashes, rng)
    fill_s = time.perf_counter() - t0
    matcher_key, curator_key = _keys(db_url)
    picks = rng.integers(0, len(hashes), 4096)
    queries, expect = [], []
    for k, i in enumerate(picks):
        if k % 2 == 0:
            queries.append(_flip(hashes[int(i)], 8, rng))
            expect.append(b'{"BENCH":[{"bank_content_id":%d,"distance":"8"}]}' % (int(i) + 1))
        else:
            queries.append(bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex())
            expect.append(b"{}")
    del hashes
    files = _photos(tmp, args.uploads)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, UNLEAK_DB=db_url, UNLEAK_HOME=str(tmp))
    cmd = [sys.executable, "-m", "unleak", "serve", "--port", str(port), "--no-access-log"]
    cmd += ["--workers", str(args.workers)]
    if pinned:
        cmd = ["taskset", "-c", str(server_cpu), *cmd]
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
            if proc.poll() is not None or time.perf_counter() - t0 > 900:
                raise SystemExit("server did not start")
            time.sleep(0.5)
        start_s = time.perf_counter() - t0
        time.sleep(2)  # every worker up (the first answers /status before the others may)
        # Warm up: every connection's worker learns the key and reads the matched rows once.
        _run_load(port, matcher_key, queries, expect, 32, 300, 2 * len(queries))
        one = _run_load(port, matcher_key, queries, expect, 1, args.seconds, args.requests)
        cpu0 = _cpu_s(proc.pid)
        many = _run_load(port, matcher_key, queries, expect, 32, args.seconds, args.requests)
        cpu_per = (_cpu_s(proc.pid) - cpu0) / many["n"]
        load = os.getloadavg()[0]
        memory = _memory(proc.pid)
        cpu0 = _cpu_s(proc.pid)
        upload_rate, uploaded = _uploads(base, matcher_key, files, max(args.seconds, 30))
        upload_cpu = (_cpu_s(proc.pid) - cpu0) / (uploaded + 1)  # and the warm-up upload
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
                    # a new connection each time: with several workers, any of them may answer
                    got = httpx.get(
                        base + "/m/lookup",
                        params={"signal_type": "pdq", "signal": h},
                        headers={"Authorization": f"Bearer {matcher_key}"},
                    ).json()
                    if "BENCH" in got:
                        break
                    if time.perf_counter() - t > 10:
                        raise SystemExit("an added hash was not matched within 10 s")
                add_lat.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    hash_rate, hash_cpu_rate = _hash_cli(files[:uploaded], server_cpu, env)
    ref = _reference(db_url, queries, min(args.seconds, 10), args.requests)
    shutil.rmtree(tmp, ignore_errors=True)
    a = np.array(add_lat) * 1000
    where = f"server on CPU {server_cpu}, load generator on CPU {cpus[0]}" if pinned else "unpinned (fewer than 2 CPUs)"
    print(f"unleak serve, SQLite, {args.workers} worker(s), API keys on; {where}")
    print(f"bank: {args.hashes:,} PDQ hashes (bulk-filled in {fill_s:.0f} s); server ready in {start_s:.0f} s")
    print()
    print("| measure | value |")
    print("|---|---|")
    for label, phase in (("1 in flight", one), ("32 in flight", many)):
        print(
            f"| `GET /m/lookup` by hash, {label} | {phase['rate']:,.0f} req/s, p50 {phase['p50']:.2f} ms, "
            f"p99 {phase['p99']:.2f} ms ({phase['n']:,} requests, {phase['found']:,} matched, all bodies as expected) |"
        )
    print(
        f"| server CPU per lookup at 32 in flight (all its processes) | {cpu_per * 1e6:,.0f} µs: "
        f"{1 / cpu_per:,.0f} lookups/s for one idle core (load average during the run: {load:.1f}) |"
    )
    print(f"| reference: the same lookups through the library, in-process, no HTTP | {ref:,.0f} /s |")
    print(
        f"| `POST /m/lookup`, 1 MP JPEG uploads, 1 in flight | {upload_rate:.1f} /s ({uploaded} files), server CPU "
        f"{upload_cpu * 1000:.0f} ms an upload; `unleak hash` on the same files, same CPU: {hash_rate:.1f} /s, "
        f"{1000 / hash_cpu_rate:.0f} ms CPU a file; CPU ratio {upload_cpu * hash_cpu_rate:.2f}x |"
    )
    print(
        f"| add (`POST /c/bank/BENCH/signal`) until a lookup finds it | {args.adds} of {args.adds}, "
        f"p50 {np.percentile(a, 50):.1f} ms, max {a.max():.1f} ms |"
    )
    pss = sum(m[2] for m in memory)
    each = "; ".join(f"RSS {rss:,.0f}, PSS {p:,.0f}, USS {u:,.0f}, anon {a:,.0f}" for _, rss, p, u, a in memory)
    print(f"| server memory (MB) after the lookups: total PSS | {pss:,.0f} MB (per process: {each}) |")


if __name__ == "__main__":
    main()
