"""Exact Hamming-radius search at 1M and 10M hashes: unleak.index vs brute force vs FAISS.

    python bench/index.py                          # 1M and 10M, radius 31 (takes a while)
    python bench/index.py --sizes 100000 --quick   # a smoke run

Every index runs in its own subprocess (so its memory is its own), on one
thread. For each bank size and bank kind it reports: build time, the index's
resident memory (RSS growth over the bank and queries already in memory),
lookups a second one query at a time and in batches of 1,000, queries a second
with all 8 orientations, and (ours) single add/remove latency. All indexes are
exact at the radius (FAISS: ``IndexBinaryMultiHash`` with ``nhash * (nflip + 1)
> radius``, ``IndexBinaryHash`` probing every bucket), and each one's total
match count is printed so exactness can be checked across rows.

Slow indexes are timed on fewer queries (a time budget per measure); the
"queries" column says how many, and "~" marks rates measured on a batch smaller
than 1,000.

Banks:
- ``random``: uniform random 256-bit hashes. Queries: half near-duplicates of
  bank items (0-24 bits flipped), half fresh random hashes.
- ``clustered``: real-image-like. Half the bank is clusters of 20
  near-duplicates (0-16 bits flipped) around seeds, the seeds being real PDQ
  hashes of the sample photos (crops, resizes, rotations, 8 orientations) and,
  past those, random hashes; the other half distinct random hashes. Buckets are
  uneven and a near-duplicate query has many matches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402

RADIUS = 31
BUDGET = 8.0  # seconds per measure for slow indexes
KINDS = ["ours", "brute", "faiss-flat", "faiss-hash", "faiss-multihash"]


# -- data --------------------------------------------------------------------


def flip_random_bits(rng: np.random.Generator, h: np.ndarray, max_flips: int) -> np.ndarray:
    """Copies of uint8 (n, 32) hashes with 0..max_flips bits flipped (vectorised)."""
    out = h.copy()
    n = len(h)
    k = rng.integers(0, max_flips + 1, n)
    rows = np.arange(n)
    for j in range(max_flips):
        sel = rows[k > j]
        pos = rng.integers(0, 256, sel.size)
        out[sel, pos >> 3] ^= (128 >> (pos & 7)).astype(np.uint8)
    return out


def real_pdq_seeds() -> np.ndarray:
    """PDQ hashes of the benign sample photos and their crops, resizes, rotations, orientations."""
    cached = os.environ.get("UNLEAK_BENCH_SEEDS")
    if cached and Path(cached).exists():
        return np.load(cached)
    try:
        import pdqhash
        from PIL import Image

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from unleak.samples import sample_images
    except Exception:
        return np.zeros((0, 32), np.uint8)
    out = []
    for path in sample_images():
        try:
            img = Image.open(path).convert("RGB")
        except Exception:
            continue
        w, h = img.size
        variants = [img]
        for f in (0.9, 0.75, 0.6):
            variants.append(img.crop((0, 0, int(w * f), int(h * f))))
            variants.append(img.crop((int(w * (1 - f)), int(h * (1 - f)), w, h)))
        for s in (0.5, 0.25):
            variants.append(img.resize((max(8, int(w * s)), max(8, int(h * s)))))
        for a in (3, 8):
            variants.append(img.rotate(a))
        for v in variants:
            bits, _ = pdqhash.compute_dihedral(np.asarray(v))
            out.append(np.packbits(np.asarray(bits, dtype=np.uint8), axis=1))
    return np.concatenate(out) if out else np.zeros((0, 32), np.uint8)


def make_data(kind: str, n: int, nq: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bank (n, 32), queries (nq, 32), dihedral queries (nq, 8, 32))."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    else:
        per = 20
        nclust = n // 2 // per
        real = real_pdq_seeds()[:nclust]
        seeds = np.concatenate([real, rng.integers(0, 256, size=(nclust - len(real), 32), dtype=np.uint8)])
        clustered = flip_random_bits(rng, np.repeat(seeds, per, axis=0), 16)
        bank = np.concatenate([clustered, rng.integers(0, 256, size=(n - len(clustered), 32), dtype=np.uint8)])
        bank = bank[rng.permutation(n)]
    near = flip_random_bits(rng, bank[rng.integers(0, n, nq // 2)], 24)
    queries = np.concatenate([near, rng.integers(0, 256, size=(nq - len(near), 32), dtype=np.uint8)])
    queries = queries[rng.permutation(nq)]
    # the 8 orientations of a photo hash far apart: variant 0 is the query, the rest random
    dihedral = rng.integers(0, 256, size=(nq, 8, 32), dtype=np.uint8)
    dihedral[:, 0] = queries
    return bank, queries, dihedral


# -- one index in one process -------------------------------------------------


def rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class Faiss:
    def __init__(self, kind: str, bank: np.ndarray) -> None:
        import faiss

        faiss.omp_set_num_threads(1)
        if kind == "faiss-flat":
            self.index = faiss.IndexBinaryFlat(256)
        elif kind == "faiss-hash":
            self.index = faiss.IndexBinaryHash(256, 16)
            self.index.nflip = 16  # every bucket of the 16-bit table: exact at any radius
        else:
            self.index = faiss.IndexBinaryMultiHash(256, 16, 16)
            self.index.nflip = 1  # 16 tables x (1 + 1) > 31: exact at radius 31
        self.index.add(bank)

    def search(self, q: np.ndarray, radius: int) -> int:
        lims, _, _ = self.index.range_search(np.ascontiguousarray(q), radius + 1)  # FAISS: d < radius
        return int(lims[-1])

    def search_dihedral(self, q: np.ndarray, radius: int) -> int:
        # no grouped search: 8 rows a query (an item matched by 2 orientations counts twice)
        return self.search(q.reshape(-1, 32), radius)


class Ours:
    def __init__(self, kind: str, bank: np.ndarray) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from unleak.index import BruteForceIndex, MultiIndexHash

        self.index = MultiIndexHash() if kind == "ours" else BruteForceIndex()
        self.index.add(np.arange(len(bank)), bank)

    def search(self, q: np.ndarray, radius: int) -> int:
        return len(self.index.search(q, radius))

    def search_dihedral(self, q: np.ndarray, radius: int) -> int:
        return len(self.index.search_dihedral(q, radius))


def timed_rate(fn, items: int) -> float:
    t = time.perf_counter()
    fn()
    return items / (time.perf_counter() - t)


def worker(kind: str, bank_kind: str, n: int, nq: int) -> dict:
    bank, queries, dihedral = make_data(bank_kind, n, nq)
    if kind.startswith("ours") or kind == "brute":
        Ours("ours", bank[:2000]).search(queries[:2], RADIUS)  # JIT/cache warm-up, not timed
        Ours("ours", bank[:2000]).search_dihedral(dihedral[:2], RADIUS)
    base = rss()
    t = time.perf_counter()
    index = Ours(kind, bank) if kind in ("ours", "brute") else Faiss(kind, bank)
    build = time.perf_counter() - t
    mem = rss() - base
    out: dict = {"kind": kind, "bank": bank_kind, "n": n, "build_s": build, "mem_mb": mem / 2**20}
    index.search(queries[:3], RADIUS)

    # one at a time
    done, t0 = 0, time.perf_counter()
    while done < nq and (done < 20 or time.perf_counter() - t0 < BUDGET):
        index.search(queries[done : done + 1], RADIUS)
        done += 1
    out["single_qps"] = done / (time.perf_counter() - t0)
    out["single_n"] = done
    # the same 100 queries for every index: equal counts across rows = same answers
    out["check_matches"] = index.search(queries[:100], RADIUS)
    # batches of 1,000 (fewer for slow indexes: sized from the single-query rate)
    bsize = int(min(1000, max(20, out["single_qps"] * BUDGET * 2)))
    batch = queries[nq - bsize :]
    t = time.perf_counter()
    found = index.search(batch, RADIUS)
    out["batch_qps"] = bsize / (time.perf_counter() - t)
    out["batch_n"] = bsize
    out["batch_matches"] = found
    # all 8 orientations
    dsize = int(min(1000, max(10, out["batch_qps"] / 8 * BUDGET)))
    t = time.perf_counter()
    out["dihedral_matches"] = index.search_dihedral(dihedral[:dsize], RADIUS)
    out["dihedral_qps"] = dsize / (time.perf_counter() - t)
    out["dihedral_n"] = dsize
    out["peak_rss_mb"] = rss() / 2**20
    if kind == "ours":
        out.update(update_latency(index.index, n))
    return out


def update_latency(index, n: int) -> dict:
    rng = np.random.default_rng(99)
    new = rng.integers(0, 256, size=(20000, 32), dtype=np.uint8)
    times = []
    for i in range(20000):  # more than the 16,384-item buffer: one freeze into a segment included
        t = time.perf_counter()
        index.add([n + i], new[i : i + 1])
        times.append(time.perf_counter() - t)
    rem = []
    gone = rng.choice(n, 4000, replace=False)
    for i in gone:
        t = time.perf_counter()
        index.remove([int(i)])
        rem.append(time.perf_counter() - t)
    a = np.array(times) * 1e3
    r = np.array(rem) * 1e3
    return {
        "add_ms_median": float(np.median(a)),
        "add_ms_p99": float(np.percentile(a, 99)),
        "add_ms_max": float(a.max()),
        "remove_ms_median": float(np.median(r)),
        "remove_ms_p99": float(np.percentile(r, 99)),
        "remove_ms_max": float(r.max()),
    }


# -- the table -----------------------------------------------------------------


def fmt_rate(r: dict, key: str) -> str:
    v = r[key.replace("_n", "_qps")] if key.endswith("_n") else r[key]
    return f"{v:,.0f}"


def table(rows: list[dict]) -> str:
    out = [
        "| bank | n | index | build s | memory MB | single lookups/s | batch lookups/s | 8-orientation queries/s | matches (100 q) | vs FAISS MultiHash (single / batch / 8-orient.) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "ours": "unleak MultiIndexHash",
        "brute": "unleak BruteForceIndex (numpy)",
        "faiss-flat": "FAISS IndexBinaryFlat",
        "faiss-hash": "FAISS IndexBinaryHash (16 bits, all buckets)",
        "faiss-multihash": "FAISS IndexBinaryMultiHash (16 x 16 bits)",
    }
    for r in rows:
        ref = next(
            (x for x in rows if x["kind"] == "faiss-multihash" and x["n"] == r["n"] and x["bank"] == r["bank"]), None
        )
        ratio = ""
        if ref and r["kind"] != "faiss-multihash":
            ratio = (
                f"{r['single_qps'] / ref['single_qps']:.1f}x / {r['batch_qps'] / ref['batch_qps']:.1f}x"
                f" / {r['dihedral_qps'] / ref['dihedral_qps']:.1f}x"
            )
        single = f"{r['single_qps']:,.0f}" + (f" ({r['single_n']} q)" if r["single_n"] < 1000 else "")
        batch = (
            ("~" if r["batch_n"] < 1000 else "")
            + f"{r['batch_qps']:,.0f}"
            + (f" ({r['batch_n']} q)" if r["batch_n"] < 1000 else "")
        )
        dih = ("~" if r["dihedral_n"] < 500 else "") + f"{r['dihedral_qps']:,.0f}"
        out.append(
            f"| {r['bank']} | {r['n']:,} | {names[r['kind']]} | {r['build_s']:.1f} | {r['mem_mb']:,.0f} | {single} | {batch} | {dih} | {r['check_matches']:,} | {ratio} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated bank sizes")
    ap.add_argument("--banks", default="random,clustered", help="random,clustered")
    ap.add_argument("--indexes", default=",".join(KINDS), help=",".join(KINDS))
    ap.add_argument("--queries", type=int, default=3000, help="queries generated per run")
    ap.add_argument("--quick", action="store_true", help="small sizes, short budgets: a smoke run")
    ap.add_argument("--json", help="also write the rows as JSON here")
    ap.add_argument("--worker", nargs=3, metavar=("INDEX", "BANK", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    global BUDGET
    if args.quick:
        BUDGET = 1.0
    if args.worker:
        kind, bank_kind, n = args.worker
        print("RESULT " + json.dumps(worker(kind, bank_kind, int(n), args.queries)), flush=True)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick and args.sizes == ap.get_default("sizes"):
        sizes = [100_000]
    rows = []
    if "clustered" in args.banks:
        import tempfile

        seeds_file = Path(tempfile.mkdtemp()) / "seeds.npy"
        np.save(seeds_file, real_pdq_seeds())
        os.environ["UNLEAK_BENCH_SEEDS"] = str(seeds_file)
        print(f"# {len(np.load(seeds_file)):,} real PDQ seed hashes", file=sys.stderr)
    for bank_kind in args.banks.split(","):
        for n in sizes:
            for kind in args.indexes.split(","):
                if kind == "faiss-hash" and n > 1_000_000:
                    continue  # probing every bucket is a slower flat scan; shown at 1M only
                cmd = [sys.executable, __file__, "--worker", kind, bank_kind, str(n), "--queries", str(args.queries)]
                if args.quick:
                    cmd.append("--quick")
                print(f"# {bank_kind} n={n:,} {kind} ...", file=sys.stderr, flush=True)
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
                except subprocess.CalledProcessError as e:
                    if kind.startswith("faiss") and "No module named 'faiss'" in e.stderr:
                        print("# faiss-cpu is not installed: skipped", file=sys.stderr)
                        continue
                    print(e.stderr, file=sys.stderr)
                    raise
                line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
                row = json.loads(line[7:])
                rows.append(row)
                print(f"#   {json.dumps(row)}", file=sys.stderr, flush=True)
    print(
        f"\nRadius {RADIUS}, one thread, exact. Memory: RSS growth while building (the index's own copy of the hashes included)."
    )
    print(table(rows))
    ours = [r for r in rows if r["kind"] == "ours"]
    if ours:
        print("\nunleak MultiIndexHash, one add or remove of one hash (ms):\n")
        print(
            "| bank | n | add median | add p99 | add max | remove median | remove p99 | remove max | process RSS MB |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in ours:
            print(
                f"| {r['bank']} | {r['n']:,} | {r['add_ms_median']:.3f} | {r['add_ms_p99']:.3f} | {r['add_ms_max']:.1f} | "
                f"{r['remove_ms_median']:.3f} | {r['remove_ms_p99']:.3f} | {r['remove_ms_max']:.2f} | {r['peak_rss_mb']:,.0f} |"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
