"""`unleak watch` over many generated sources on loopback: what a cycle costs.

Each source is one page showing two small JPEGs, served by one local server that answers
conditional requests (ETag, Last-Modified, 304) and counts what it sends. Four cycles:
cold (everything new), unchanged, 10 % of the sources changed, and unchanged again; the
reference is the same unchanged cycle with conditional fetches off (`--no-conditional`), in the
same run. Prints requests, requests per changed source, seconds per cycle, body bytes sent by
the server, and bytes saved against the reference.

Run: `python bench/watch.py --sources 500` (a quick look: `--sources 40`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sources", type=int, default=500)
    ap.add_argument("--changed", type=float, default=0.10, help="share of sources changed in the third cycle")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="unleak-bench-watch-")
    os.environ["UNLEAK_HOME"] = work
    from unleak.bank import Bank
    from unleak.demo.site import altered_copy
    from unleak.demo.watchsite import ConditionalSite
    from unleak.monitor.scan import ScanOptions
    from unleak.monitor.sources import SourceOptions, add_source
    from unleak.monitor.watch import watch_cycle
    from unleak.net.fetch import FetchPolicy
    from unleak.samples import sample_images
    from unleak.store import open_store

    store = open_store()
    samples = sample_images()
    n = args.sources
    rows = []

    def options(conditional: bool) -> ScanOptions:
        return ScanOptions(
            policy=FetchPolicy(rate=None, retries=0),
            verify="off",
            concurrency=args.concurrency,
            conditional=conditional,
        )

    try:
        with ConditionalSite(n) as site:
            for case in ("bench", "reference"):
                Bank(store, case).protect(samples[:2])
                for i in range(n):
                    add_source(store, case, "urls", [site.page_url(i)], SourceOptions(allow_networks=["127.0.0.1/32"]))
            site.plant(0, altered_copy(samples[0], 0, 384)[1])

            def cycle(label: str, case: str, conditional: bool, first: bool, changed: int) -> None:
                r0, _n0, b0 = site.counters()
                t0 = time.perf_counter()
                summary, _ = watch_cycle(store, case, options(conditional), 0, first=first)
                seconds = time.perf_counter() - t0
                r1, _n1, b1 = site.counters()
                per_changed = f"{(r1 - r0 - (n - changed) - 1) / changed:.2f}" if changed and changed < n else ""
                rows.append(
                    (
                        label,
                        "on" if conditional else "off",
                        r1 - r0,
                        summary.not_modified,
                        len(summary.changed),
                        per_changed,
                        seconds,
                        b1 - b0,
                        summary.new_sightings,
                    )
                )

            cycle("1 cold", "bench", True, True, n)
            cycle("2 unchanged", "bench", True, False, 0)
            cycle("ref cold", "reference", False, True, n)
            cycle("ref unchanged", "reference", False, False, 0)
            k = max(1, int(n * args.changed))
            for i in range(1, k + 1):
                site.change(i)
            cycle(f"3 {k} changed", "bench", True, False, k)
            cycle("4 unchanged", "bench", True, False, 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    head = ("cycle", "conditional", "requests", "304s", "changed", "req/changed src", "seconds", "body bytes", "new")
    print(f"watch over {n} sources on loopback (two files a source)")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(" | ".join(f"{v:.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v for v in r))
    ref = next(r for r in rows if r[0] == "ref unchanged")
    mine = next(r for r in rows if r[0] == "2 unchanged")
    saved = 1 - mine[7] / max(1, ref[7])
    print(
        f"\nunchanged cycle: {mine[2]:,} requests and {mine[7]:,} body bytes against {ref[2]:,} and {ref[7]:,} "
        f"without conditional fetches: {saved:.1%} fewer bytes (goal >= 80 %), "
        f"{mine[6]:.2f} s against {ref[6]:.2f} s"
    )


if __name__ == "__main__":
    main()
