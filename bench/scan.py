"""Scan throughput: pages and media a second over a generated site on 127.0.0.1.

The site (unleak.demo.site.big_site) has N pages in a tree, each with one JPEG at its own
URL (bytes differ per URL, so nothing is skipped as already seen): altered copies of protected
sample photos and unrelated photos. The per-host rate limit is lifted (the default is 1 request a
second per host). Reports wall-clock rates, the share of worker time spent fetching, parsing,
decoding, hashing, matching (index search; owner-side verification), capturing and writing the
database, each timed in the scan itself, and whether exactly the expected sightings were found.
Matching settings default to `unleak scan`'s: verification auto (the originals are on this machine,
so it is on), variants on (content boxes, bank-side crops), captures on, 8 fetches in flight.

    python bench/scan.py                                  # 10,000 pages, `unleak scan`'s settings
    python bench/scan.py --pages 300                      # a quick smoke run
    python bench/scan.py --verify off --no-variants       # hash-only, plain PDQ + dihedral
    python bench/scan.py --pages 300 --compare            # the former defaults and today's, one run
    python bench/scan.py --precise --no-screen            # the former defaults alone
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--no-variants",
        dest="variants",
        action="store_false",
        help="Plain PDQ + dihedral only (`unleak scan` uses content boxes and bank-side crops).",
    )
    ap.add_argument(
        "--verify",
        default="auto",
        choices=["auto", "on", "off"],
        help="Owner-side verification against the originals (default auto, as `unleak scan`).",
    )
    ap.add_argument("--no-capture", action="store_true")
    ap.add_argument(
        "--precise",
        action="store_true",
        help="Register each verified match again with unleak.registration (what `unleak scan` did before).",
    )
    ap.add_argument(
        "--no-screen",
        dest="screen",
        action="store_false",
        help="Verify every candidate in full, every original with enough shortlist votes (no coarse pass, "
        "no geometric screen; what `unleak scan` did before).",
    )
    ap.add_argument("--db", default=None, help="Database URL (default: SQLite in a temporary folder).")
    ap.add_argument(
        "--compare",
        action="store_true",
        help="Run twice at this commit: the former defaults (--precise --no-screen) and today's, and print both rates.",
    )
    args = ap.parse_args()
    if args.compare:
        return compare(args)

    home = Path(tempfile.mkdtemp(prefix="unleak-bench-scan-"))
    os.environ["UNLEAK_HOME"] = str(home)

    from unleak.bank import Bank
    from unleak.demo.site import big_site, big_site_pool
    from unleak.monitor.scan import PHASES, Scanner, ScanOptions
    from unleak.monitor.sources import SourceOptions, add_source
    from unleak.net.fetch import FetchPolicy
    from unleak.store import open_store

    protected, pool, copy_of = big_site_pool(512)
    # Every 5th pool slot an altered copy, the rest unrelated: about 1 image in 4 is a copy.
    store = open_store(args.db or f"sqlite:///{home / 'unleak.db'}")
    bank = Bank(store, "bench")
    bank.protect(protected)

    def unique(i: int, data: bytes) -> bytes:
        return data + b"unleak-bench-%d" % i  # after the JPEG's end: same pixels, different bytes

    # The site runs in its own process, as another machine would: it does not share our GIL.
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe()

    def serve(conn) -> None:
        server, truth = big_site(args.pages, pool, copy_of)
        base_fallback = server.fallback

        def fallback(path: str):
            route = base_fallback(path)
            if route is not None and path.startswith("/m/"):
                route.body = unique(int(path[3:-4]), route.body)
            return route

        server.fallback = fallback
        conn.send((server.base, truth))
        conn.recv()  # until the parent says stop
        server.close()

    site_proc = ctx.Process(target=serve, args=(child_end,), daemon=True)
    site_proc.start()
    base, truth = parent_end.recv()

    class _Server:
        def url(self, path: str) -> str:
            return base + path

        def close(self) -> None:
            parent_end.send("stop")
            site_proc.join(10)

    server = _Server()
    depth = 1
    while (3 ** (depth + 1) - 1) // 2 < args.pages:
        depth += 1
    src = add_source(
        store,
        "bench",
        "crawl",
        [server.url("/p/0.html")],
        SourceOptions(depth=depth + 1, max_pages=args.pages, allow_networks=["127.0.0.1/32"]),
    )
    options = ScanOptions(
        policy=FetchPolicy(rate=None, per_host_concurrency=args.concurrency),
        concurrency=args.concurrency,
        verify=args.verify,
        variants=args.variants,
        capture=not args.no_capture,
        precise=args.precise,
    )
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 10:
            last[0] = now
            print(f"  ... {done:,} of {total:,} URLs", file=sys.stderr, flush=True)

    scanner = Scanner(store, "bench", options, on_progress=progress)
    if scanner.matcher.verifier is not None:
        scanner.matcher.verifier.screen = args.screen
    t0, c0 = time.perf_counter(), time.process_time()
    report = scanner.scan_source(src.id)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0  # cpu: this process, every thread
    server.close()
    st = report.stats
    found = {e.media_url for e in report.sightings}

    timings = dict(st["timings"])
    timings["db"] = max(timings.get("db", 0.0) - timings.get("capture", 0.0), 0.0)  # db was timed around capture
    total = sum(timings.get(p, 0.0) for p in PHASES) or 1.0
    media_n = st["media"]
    print()
    print(
        f"scan of a generated site on 127.0.0.1: {args.pages:,} pages, per-host rate limit lifted, "
        f"{args.concurrency} fetches in flight, {os.cpu_count()} cores, "
        f"{store.engine.dialect.name}"
    )
    mode = scanner.matcher.mode
    same = args.variants and args.verify == "auto" and not args.no_capture and args.concurrency == 8
    same = same and args.screen and not args.precise
    print(
        f"matching: variants {'on (content boxes + crops)' if args.variants else 'off (plain PDQ + dihedral)'}, "
        f"verify {args.verify} ({mode}), captures {'off' if args.no_capture else 'on'}: "
        f"{'the same as' if same else 'NOT'} `unleak scan`'s defaults (apart from the lifted rate limit)"
    )
    print()
    print(f"| {'measure':<34} | {'value':>12} |")
    print(f"|{'-' * 36}|{'-' * 14}|")
    rows = [
        ("pages fetched", f"{st['pages']:,}"),
        ("media fetched and matched", f"{media_n:,}"),
        ("wall time (s)", f"{wall:,.1f}"),
        ("pages / s", f"{st['pages'] / wall:,.1f}"),
        ("media / s", f"{media_n / wall:,.1f}"),
        ("URLs / s (pages + media)", f"{(st['pages'] + media_n) / wall:,.1f}"),
        ("MB fetched / s", f"{st['bytes'] / wall / 1e6:,.2f}"),
        ("CPU time of the scanner (s)", f"{cpu:,.1f}"),
        ("media / CPU-second", f"{media_n / cpu:,.2f}"),
        ("sightings (expected)", f"{len(found):,} ({len(truth):,})"),
        ("missed / false sightings", f"{len(set(truth) - found)} / {len(found - set(truth))}"),
        ("captures written", f"{st['captures']:,}"),
        ("failed / refused", f"{st['failed']} / {st['blocked']}"),
    ]
    for k, v in rows:
        print(f"| {k:<34} | {v:>12} |")
    print()
    print("share of worker time (threads overlap, so shares are of the summed time):")
    print()
    print(f"| {'phase':<10} | {'seconds':>9} | {'share':>6} |")
    print(f"|{'-' * 12}|{'-' * 11}|{'-' * 8}|")
    for phase in PHASES:
        sec = timings.get(phase, 0.0)
        print(f"| {phase:<10} | {sec:>9.1f} | {100 * sec / total:>5.1f}% |")
    print()
    print(
        "(the Matcher's own phases: 'hash' computes the signals and query-side variant hashes, 'match' the "
        "look-ups (bank index, exact digests, vPDQ comparisons), 'verify' the owner-side verification; "
        "'db' is the database writer's time less captures)"
    )
    for e in st["errors"][:5]:
        print("error:", e["url"], e["error"])
    store.close()
    ok = set(truth) == found
    return 0 if ok else 1


def _figure(text: str, measure: str) -> float:
    """A figure of the table `main` prints, by its measure's name (nan when absent)."""
    import re

    found = re.search(rf"\| {re.escape(measure)}\s+\|\s+([\d.,]+) \|", text)
    return float(found.group(1).replace(",", "")) if found else float("nan")


def compare(args: argparse.Namespace) -> int:
    """The same scan twice, each in its own process: the former defaults, then today's."""
    import subprocess

    base = [sys.executable, __file__, "--pages", str(args.pages), "--concurrency", str(args.concurrency)]
    base += ["--verify", args.verify] + (["--no-variants"] if not args.variants else [])
    base += ["--no-capture"] if args.no_capture else []
    rates: dict[str, tuple[float, float]] = {}
    rcs = []
    former = ("former defaults (--precise --no-screen)", ["--precise", "--no-screen"])
    for name, extra in (former, ("today's defaults", [])):
        print(f"## {name}", flush=True)
        done = subprocess.run(base + extra, capture_output=True, text=True, check=False)
        print(done.stdout, flush=True)
        rcs.append(done.returncode)
        rates[name] = (_figure(done.stdout, "media / s"), _figure(done.stdout, "media / CPU-second"))
    (a, (wa, ca)), (b, (wb, cb)) = rates.items()
    print(f"media / s: {wa:.2f} ({a}) -> {wb:.2f} ({b}): {wb / wa:.2f}x")
    # On a shared machine the wall-clock rate moves with the load; CPU seconds a medium do not.
    print(f"media / CPU-second: {ca:.2f} ({a}) -> {cb:.2f} ({b}): {cb / ca:.2f}x")
    return max(rcs)


if __name__ == "__main__":
    sys.exit(main())
