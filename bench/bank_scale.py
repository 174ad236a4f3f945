"""A large bank end to end: import N PDQ hashes, open a Matcher (load + index build), match photos.

Prints a table of wall time and resident memory (RSS) at each step, for the memory bound
(<= 1.5 GB at 1M items). Run: `python bench/bank_scale.py --items 1000000`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=20, help="sample photos to match")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="unleak-bank-scale-"))
    os.environ["UNLEAK_HOME"] = str(work)
    from unleak.bank import Bank
    from unleak.match import Matcher
    from unleak.samples import sample_images
    from unleak.signals import Media
    from unleak.store import open_store

    rows = []

    def step(name: str, t0: float) -> None:
        rows.append((name, time.perf_counter() - t0, rss_mb(), peak_mb()))

    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 256, size=(args.items, 32), dtype=np.uint8)
    listing = work / "hashes.txt"
    t0 = time.perf_counter()
    with open(listing, "w") as fh:
        for row in hashes:
            fh.write("pdq " + row.tobytes().hex() + "\n")
    del hashes
    step(f"write a {args.items:,}-hash list", t0)

    store = open_store(f"sqlite:///{work / 'unleak.db'}")
    bank = Bank(store, "scale")
    t0 = time.perf_counter()
    added, _ = bank.import_file(listing, "te")
    step(f"import {added:,} hashes into the bank (SQLite)", t0)
    photos = sample_images()[: args.queries]
    t0 = time.perf_counter()
    protected = bank.protect(photos)
    step(f"protect {len(protected)} photos into it", t0)

    t0 = time.perf_counter()
    matcher = Matcher(bank)
    step("open matcher: load signals + build index", t0)
    t0 = time.perf_counter()
    found = sum(bool(matcher.match_media(Media.open(p)).matches) for p in photos)
    step(f"match {len(photos)} photos (8 orientations each): {found} found", t0)

    print("\n| step | seconds | RSS MB | peak RSS MB |\n|---|---:|---:|---:|")
    for name, secs, rss, peak in rows:
        print(f"| {name} | {secs:.1f} | {rss:.0f} | {peak:.0f} |")
    store.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
