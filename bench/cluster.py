"""Scan and bulk-match throughput on a Dask cluster, against today's single-process commands.

Starts the generated site (unleak.demo.site.big_site, as bench/scan.py) on 127.0.0.1 in its own
process, and makes a folder of JPEGs (about 1 in 5 an altered copy of a protected sample photo).
Then, at the same commit and in one run, for each of
  - one process (today's `unleak scan` / `unleak match`),
  - 1 Dask worker pinned to one core, with the same number of threads,
  - 2 Dask workers pinned to one core each,
scans a fresh copy of the site's source and matches the folder, and prints items a second and
CPU-seconds per item (the scanning process plus its workers, and apart the scanning process's
own: with a LocalCluster it also runs Dask's scheduler; the site's and the database's CPU are
printed apart, as they share the same cores).

    python bench/cluster.py                           # 10,000 pages, 20,000 images
    python bench/cluster.py --pages 300 --files 400   # a quick smoke run
    python bench/cluster.py --db postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def _cpu_self() -> float:
    t = os.times()
    return t.user + t.system


def _cpu_of_worker() -> float:
    t = os.times()
    return t.user + t.system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=8, help="Fetches in flight / worker threads (default 8).")
    ap.add_argument("--db", default=None, help="Database URL (default: SQLite in a temporary folder).")
    ap.add_argument("--work", choices=["scan", "match", "both"], default="both", help="What to measure.")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="unleak-bench-cluster-"))
    os.environ["UNLEAK_HOME"] = str(home)
    import multiprocessing

    import psutil

    from unleak.bank import Bank
    from unleak.cluster import Cluster, match_targets, public_url, scan_options_for, warm_matcher
    from unleak.demo.site import big_site, big_site_pool
    from unleak.match import Matcher
    from unleak.monitor.scan import Scanner, ScanOptions, VisitSpec, warm_worker
    from unleak.monitor.sources import SourceOptions, add_source
    from unleak.net.fetch import FetchPolicy
    from unleak.store import open_store

    protected, pool, copy_of = big_site_pool(512)
    folder = home / "dump"
    folder.mkdir()
    for i in range(args.files):
        (folder / f"{i:06d}.jpg").write_bytes(pool[i % len(pool)] + b"unleak-bench-%d" % i)
    files = sorted(str(p) for p in folder.iterdir())

    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe()

    def serve(conn) -> None:
        server, truth = big_site(args.pages, pool, copy_of)
        base_fallback = server.fallback

        def fallback(path: str):
            route = base_fallback(path)
            if route is not None and path.startswith("/m/"):
                route.body = route.body + b"unleak-bench-%d" % int(path[3:-4])
            return route

        server.fallback = fallback
        conn.send((server.base, truth))
        conn.recv()
        server.close()

    site_proc = ctx.Process(target=serve, args=(child_end,), daemon=True)
    site_proc.start()
    base, truth = parent_end.recv()
    store = open_store(args.db or f"sqlite:///{home / 'unleak.db'}")
    site_ps = psutil.Process(site_proc.pid)
    depth = 1
    while (3 ** (depth + 1) - 1) // 2 < args.pages:
        depth += 1

    def db_cpu() -> float:  # the PostgreSQL server's processes, when it runs here
        total = 0.0
        for p in psutil.process_iter(["name"]):
            if (p.info["name"] or "").startswith("postgres"):
                try:
                    c = p.cpu_times()
                    total += c.user + c.system
                except psutil.Error:
                    pass
        return total

    print(f"  ... site at {base}", file=sys.stderr, flush=True)
    rows = []
    configs = [("one process", 0), ("1 worker, 1 core", 1), ("2 workers, 1 core each", 2)]
    for name, n_workers in configs:
        case = f"bench-{n_workers}"
        Bank(store, case).protect(protected)
        src = add_source(
            store,
            case,
            "crawl",
            [base + "/p/0.html"],
            SourceOptions(depth=depth + 1, max_pages=args.pages, allow_networks=["127.0.0.1/32"]),
        )
        options = ScanOptions(
            policy=FetchPolicy(rate=None, per_host_concurrency=args.threads * max(1, n_workers)),
            concurrency=args.threads,
        )
        cluster = None
        if n_workers:
            cluster = Cluster(f"local:{n_workers}", threads=args.threads)
            workers = sorted(cluster.client.nthreads())
            for core, w in enumerate(workers):
                cluster.client.run(os.sched_setaffinity, 0, {core % (os.cpu_count() or 1)}, workers=[w])
            options = scan_options_for(cluster, options)
            cluster.client.run(_cpu_of_worker)  # warm up

        # The bank's index is built once per process (and worker) before the clock starts.
        scanner = Scanner(store, case, options)
        bank = Bank(store, case)
        match_opts: dict = {"verify": "auto"}
        matcher = None
        if cluster:
            spec = VisitSpec(public_url(store.engine.url), bank.case_id, 0, "crawl", "{}", (), options.policy,
                             options.fast, options.verify, options.variants, options.cpu_slots)  # fmt: skip
            cluster.client.run(warm_worker, spec)
            cluster.client.run(warm_matcher, public_url(store.engine.url), bank.case_id, tuple(match_opts.items()))
        else:
            _ = scanner.matcher
            matcher = Matcher(bank, **match_opts)

        def worker_cpu(cluster: Cluster | None = cluster) -> float:
            return sum(cluster.client.run(_cpu_of_worker).values()) if cluster else 0.0

        # scan
        c0, w0, s0, d0 = _cpu_self(), worker_cpu(), sum(site_ps.cpu_times()[:2]), db_cpu()
        t0 = time.perf_counter()
        report = scanner.scan_source(src.id)
        wall = time.perf_counter() - t0
        c1, w1, s1, d1 = _cpu_self(), worker_cpu(), sum(site_ps.cpu_times()[:2]), db_cpu()
        st = report.stats
        items = st["pages"] + st["media"]
        found = {e.media_url for e in report.sightings}
        ok = "yes" if found == set(truth) else f"NO ({len(found)} of {len(truth)})"
        if args.work != "match":
            rows.append(("scan", name, items, wall, items / wall, (c1 - c0 + w1 - w0) / items, (c1 - c0) / items,
                         s1 - s0, d1 - d0, ok))  # fmt: skip
        if args.work == "scan":
            if cluster:
                cluster.close()
            print(f"  ... {name} done", file=sys.stderr, flush=True)
            continue
        # bulk match
        c0, w0, d0 = _cpu_self(), worker_cpu(), db_cpu()
        t0 = time.perf_counter()
        if cluster:
            results = [r for rs in match_targets(cluster, bank, files, match_opts) for r in rs]
        else:
            assert matcher is not None
            results = [r for f in files for r in matcher.match_paths([f])]
        wall = time.perf_counter() - t0
        c1, w1, d1 = _cpu_self(), worker_cpu(), db_cpu()
        n = len(results)
        matched = sum(bool(r.matches) for r in results)
        expect = sum(1 for i in range(args.files) if (i % len(pool)) in copy_of)
        rows.append(
            (
                "match",
                name,
                n,
                wall,
                n / wall,
                (c1 - c0 + w1 - w0) / n,
                (c1 - c0) / n,
                0.0,
                d1 - d0,
                "yes" if matched == expect else f"NO ({matched} of {expect})",
            )
        )
        if cluster:
            cluster.close()
        print(f"  ... {name} done", file=sys.stderr, flush=True)
    parent_end.send("stop")
    site_proc.join(10)

    print()
    print(
        f"{args.pages:,}-page site on 127.0.0.1 (rate limit lifted), {args.files:,} files; {args.threads} threads; "
        f"{os.cpu_count()} cores shared by the site, the database ({store.engine.dialect.name}: its CPU is that of "
        "every postgres process on the machine) and unleak; the bank's index built before the clock starts; "
        "matching as `unleak scan`/`match` (variants on, verification auto: owner-side here)"
    )
    print()
    print(
        "| work  | run                     |  items | wall s | items/s | CPU-s / item | of it, client | site CPU-s "
        "| db CPU-s | all found |"
    )
    print(
        "|-------|-------------------------|-------:|-------:|--------:|-------------:|--------------:|-----------:"
        "|---------:|-----------|"
    )
    for work, name, n, wall, rate, cpu, client_cpu, site, db, ok in rows:
        print(
            f"| {work:<5} | {name:<23} | {n:>6,} | {wall:>6.1f} | {rate:>7.1f} | {cpu:>12.3f} | {client_cpu:>13.3f} "
            f"| {site:>10.1f} | {db:>8.1f} | {ok:<9} |"
        )
    by = {(r[0], r[1]): (r[4], r[5]) for r in rows}
    print()
    for work in ("scan", "match") if args.work == "both" else (args.work,):
        one, w1, w2 = (by[(work, c[0])] for c in configs)
        print(
            f"{work}: 2 workers / 1 worker throughput {w2[0] / w1[0]:.2f}x; a worker's CPU-s per item "
            f"{100 * (w1[1] / one[1] - 1):+.0f}% against one process"
        )
    store.close()
    return 0 if all(r[-1] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
