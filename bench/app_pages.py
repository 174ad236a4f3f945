"""Server time per page of `unleak app` with a case of N sightings (default 10,000), p50/p95.

Each page is requested R times over HTTP from the real server (uvicorn on 127.0.0.1, in a thread);
the time is the server's own, from its `Server-Timing` header (what the app spent, not the client).
Reference, measured in the same run: the library call the CLI's `unleak sightings` makes
(`list_sightings`, every sighting at once), against which the paginated Sightings page compares.

    python bench/app_pages.py                          # SQLite, 10,000 sightings
    python bench/app_pages.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/app_pages.py --sightings 500 --repeat 5   # a quick smoke run
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))


def populate(store, case: str, n: int) -> None:
    """A case with n sightings on 20 hosts, 5 protected items, a tenth of them removed."""
    from unleak.cases import create_case
    from unleak.store.models import BankItem, Sighting

    c = create_case(store, case)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as s:
        items = [BankItem(case_id=c.id, label=f"photo-{i}", kind="image", source="protect") for i in range(5)]
        s.add_all(items)
        s.flush()
        rows = []
        for k in range(n):
            host = f"host{k % 20}.example"
            removed = k % 10 == 0
            rows.append(
                {
                    "case_id": c.id,
                    "bank_item_id": items[k % 5].id,
                    "url_key": uuid.uuid4().hex,
                    "media_url": f"https://{host}/m/{k}.jpg",
                    "page_url": f"https://{host}/p/{k}",
                    "host": host,
                    "signal": "pdq",
                    "distance": k % 30,
                    "match": "{}",
                    "uploader": f"@user{k % 300}",
                    "posted_at": None,
                    "status": "removed" if removed else "up",
                    "first_seen": t0 + timedelta(hours=k % 2000),
                    "last_seen": t0 + timedelta(hours=k % 2000),
                    "removed_at": t0 + timedelta(hours=k % 2000 + 30) if removed else None,
                    "reupload": False,
                    "reupload_count": 0,
                }
            )
        s.bulk_insert_mappings(Sighting, rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sightings", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--db", default=None, help="Database URL (default: SQLite in a temporary folder).")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="unleak-bench-app-"))
    os.environ["UNLEAK_HOME"] = str(home)
    import httpx

    from _app import Browserless, live_app
    from unleak.evidence.sightings import list_sightings
    from unleak.store import open_store

    url = args.db or f"sqlite:///{home / 'unleak.db'}"
    schema = None
    if url.startswith("postgresql"):
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:10]
        plain = url.replace("+psycopg", "")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    store = open_store(url)
    try:
        t = time.perf_counter()
        populate(store, "bench", args.sightings)
        print(f"{args.sightings:,} sightings written in {time.perf_counter() - t:.1f} s ({store.engine.dialect.name})")
        pages = {
            "Start": "/",
            "Overview": "/c/bench",
            "Timeline chart (SVG)": "/c/bench/timeline.svg",
            "Sightings, page 1": "/c/bench/sightings",
            "Sightings, page 100": "/c/bench/sightings?page_no=100",
            "Sightings, host filter": "/c/bench/sightings?host=host7.example&status=up",
            "Gallery": "/c/bench/sightings?view=gallery",
            "Sources": "/c/bench/sources",
            "Notices": "/c/bench/notices",
            "Evidence": "/c/bench/evidence",
            "Trace": "/c/bench/trace",
            "Help": "/help?case=bench",
        }
        rows = []
        with live_app(store) as live:
            client = Browserless(live)
            client.login_token()
            for name, path in pages.items():
                times = []
                for _ in range(args.repeat):
                    r = client.get(path)
                    assert r.status_code == 200, (path, r.status_code)
                    times.append(float(re.search(r"dur=([\d.]+)", r.headers["server-timing"]).group(1)))
                if path.endswith(".svg"):  # drawn once per change to the case, then cached
                    rows.append(("Timeline chart, first request after a change (one sample)", times[:1]))
                    times = times[1:]
                rows.append((name, times))
            client.close()
        from unleak.evidence.views import case_timeline, timeline_svg

        drawn = []
        for _ in range(5):  # the chart drawn again (matplotlib already imported): a change's cost
            t = time.perf_counter()
            timeline_svg(case_timeline(store, "bench"))
            drawn.append((time.perf_counter() - t) * 1000)
        rows.append(("Timeline chart drawn uncached (library call, 5 samples)", drawn))
        ref = []
        for _ in range(max(3, args.repeat // 5)):
            t = time.perf_counter()
            list_sightings(store, "bench")
            ref.append((time.perf_counter() - t) * 1000)
        rows.append(("reference: list_sightings (all, as `unleak sightings`)", ref))
    finally:
        store.close()
        if schema:
            import psycopg

            with psycopg.connect(args.db.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"\n| page ({args.sightings:,} sightings, {args.repeat} requests) | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    worst = 0.0
    for name, times in rows:
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
        if not name.startswith(("reference", "Timeline chart, first", "Timeline chart drawn")):
            worst = max(worst, p95)
        print(f"| {name} | {statistics.median(times):.1f} | {p95:.1f} |")
    print(f"\nslowest page p95: {worst:.1f} ms (goal ≤ 200 ms)")
    del httpx
    return 0


if __name__ == "__main__":
    sys.exit(main())
