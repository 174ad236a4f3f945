"""Server CPU per matching `GET /m/lookup`, in-process (no sockets, no load generator).

Calls the ASGI app directly with 32 lookups in flight and divides the process's CPU time by the
number of lookups, so a shared machine's load changes the figure little. Every query matches.

    PYTHONPATH=$PWD/src python bench/serve_cpu.py
    PYTHONPATH=$PWD/src python bench/serve_cpu.py --db postgresql://postgres@127.0.0.1:5432/test

With `--shared` it measures what several workers add (`unleak serve --workers N`): each lookup
sent with an API key limited to a rate it never reaches, counted and rate-limited in one process
(the reference), then in the files every worker shares (metrics, rate-limit buckets).

With `--db` (a PostgreSQL database; the bench works in a schema of its own and drops it) it
measures the server as it runs there (LISTEN/NOTIFY: the change log is read only when told) and,
as the reference in the same run, with no watch (the log read before every lookup).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from unleak import platform_banks as pb
from unleak.serve import ServeConfig, create_app
from unleak.store import open_store

N_BANK, N_LOOKUPS, IN_FLIGHT = 2000, 3000, 32


@contextmanager
def _pg_schema(base: str) -> Iterator[str]:
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        url = base.replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def measure(url: str, *, watch: bool = True, run_dir: str | None = None, keyed: bool = False) -> tuple[float, ...]:
    """Server CPU µs per lookup and lookups a second, first pass (rows read once) and second
    (rows kept), and change-log reads per lookup."""
    store = open_store(url)
    rng = random.Random(1)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(N_BANK)]
    with store.session() as s:
        pb.create_bank(s, "B", None, None)
        for h in hashes:
            pb.add_content(s, "B", {"pdq": h})
    real_watch_for = pb.watch_for
    if not watch:  # the reference: no watch, so the change log is read before every lookup
        pb.watch_for = lambda s: None  # type: ignore[assignment]
    try:
        app = create_app(ServeConfig(run_dir=run_dir), store)
    finally:
        pb.watch_for = real_watch_for
    reads = [0]
    headers = [(b"host", b"bench")]
    if keyed:
        from unleak.serve_keys import add_key

        with store.session() as s:
            token = add_key(s, "bench", "matcher", rate_per_s=1e9)[1]
        headers.append((b"authorization", f"Bearer {token}".encode()))

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        reads[0] += "platform_changes" in statement

    event.listen(store.engine, "before_cursor_execute", seen)
    logging.getLogger("unleak.serve.access").disabled = True

    async def one(q: str) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/m/lookup",
            "raw_path": b"/m/lookup",
            "root_path": "",
            "query_string": f"signal_type=pdq&signal={q}".encode(),
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 5000),
        }
        out: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            out.append(message)

        await app(scope, receive, send)
        if out[0]["status"] != 200:
            raise SystemExit(f"lookup answered {out[0]['status']}")

    async def timed() -> tuple[float, float]:
        async def worker(k: int) -> None:
            for i in range(k, N_LOOKUPS, IN_FLIGHT):
                await one(hashes[i % N_BANK])

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(k) for k in range(IN_FLIGHT)))
        return (time.process_time() - cpu) / N_LOOKUPS * 1e6, N_LOOKUPS / (time.perf_counter() - wall)

    async def run() -> tuple[float, float, float, float]:
        for q in hashes[:200]:  # warm up
            await one(q)
        await asyncio.sleep(0.5)  # let the listener settle (PostgreSQL)
        reads[0] = 0
        first = await timed()  # most rows read from the store once
        second = await timed()  # every row kept: the in-memory path where the store allows it
        return *first, *second

    cpu_us, rate, kept_cpu_us, kept_rate = asyncio.run(run())
    app.state.matcher.close()
    store.close()
    return cpu_us, rate, kept_cpu_us, kept_rate, reads[0] / (2 * N_LOOKUPS)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a PostgreSQL URL (postgresql://...): measure there, with and without the watch")
    ap.add_argument("--shared", action="store_true", help="the cost of state shared by several workers")
    args = ap.parse_args()
    rows: list[tuple[str, tuple[float, ...]]] = []
    if args.shared:
        with tempfile.TemporaryDirectory() as tmp:
            # The reference first: sharing switches prometheus_client's values for the process.
            rows.append(
                ("SQLite, key + rate limit, one process (reference)", measure(f"sqlite:///{tmp}/a.db", keyed=True))
            )
            run_dir = Path(tmp) / "run"
            run_dir.mkdir(mode=0o700)
            rows.append(
                (
                    "SQLite, key + rate limit, shared by workers",
                    measure(f"sqlite:///{tmp}/b.db", run_dir=str(run_dir), keyed=True),
                )
            )
    elif args.db:
        with _pg_schema(args.db) as url:
            rows.append(("PostgreSQL, LISTEN/NOTIFY", measure(url)))
        with _pg_schema(args.db) as url:
            rows.append(("PostgreSQL, log read every lookup (reference)", measure(url, watch=False)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(("SQLite", measure(f"sqlite:///{Path(tmp) / 'bench.db'}")))
    print(
        f"| store ({N_BANK:,} PDQ hashes, in-process, {IN_FLIGHT} in flight) | server CPU per matching "
        "`GET /m/lookup`, rows read once | lookups/s | CPU, every row kept | lookups/s | change-log reads per lookup |"
    )
    print("|---|---|---|---|---|---|")
    for name, (cpu_us, rate, kept_cpu_us, kept_rate, reads) in rows:
        print(
            f"| {name} | {cpu_us:,.0f} µs | {rate:,.0f} /s | {kept_cpu_us:,.0f} µs | {kept_rate:,.0f} /s | {reads:.2f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
