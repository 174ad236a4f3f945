"""Server CPU per matching `GET /m/lookup`, in-process (no sockets, no load generator).

Calls the ASGI app directly with 32 lookups in flight and divides the process's CPU time by the
number of lookups, so a shared machine's load changes the figure little. Every query matches.

    PYTHONPATH=$PWD/src python bench/serve_cpu.py
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from unleak import platform_banks as pb
from unleak.serve import ServeConfig, create_app
from unleak.store import open_store

N_BANK, N_LOOKUPS, IN_FLIGHT = 2000, 3000, 32


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        rng = random.Random(1)
        hashes = [f"{rng.getrandbits(256):064x}" for _ in range(N_BANK)]
        with store.session() as s:
            pb.create_bank(s, "B", None, None)
            for h in hashes:
                pb.add_content(s, "B", {"pdq": h})
        app = create_app(ServeConfig(), store)
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
                "headers": [(b"host", b"bench")],
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

        async def run() -> tuple[float, float]:
            for q in hashes[:200]:  # warm up
                await one(q)

            async def worker(k: int) -> None:
                for i in range(k, N_LOOKUPS, IN_FLIGHT):
                    await one(hashes[i % N_BANK])

            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker(k) for k in range(IN_FLIGHT)))
            return time.process_time() - cpu, time.perf_counter() - wall

        cpu_s, wall_s = asyncio.run(run())
        store.close()
    print(f"| measure ({N_BANK:,} PDQ hashes, SQLite, in-process, {IN_FLIGHT} in flight) | value |")
    print("|---|---|")
    print(f"| server CPU per matching `GET /m/lookup` | {cpu_s / N_LOOKUPS * 1e6:,.0f} µs |")
    print(f"| lookups a second (wall, this process only) | {N_LOOKUPS / wall_s:,.0f} /s |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
