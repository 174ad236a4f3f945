"""Fuzz unleak's parsers of untrusted bytes with atheris (libFuzzer for Python).

    python fuzz/run.py                    # every target, 60 s each
    python fuzz/run.py html --seconds 600 # one target
    python fuzz/run.py --smoke            # every target, 10,000 inputs from a fixed seed: what CI runs

Each target starts from its kept corpus (fuzz/corpus/TARGET) and grows a scratch copy, so a run
never changes the repository. A crash is written to fuzz/crashes/TARGET-crash-<sha1>: keep it;
tests/test_fuzz_corpus.py replays every file there as a regression test once it is fixed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


# The smoke run is the same every time (a fixed seed and number of inputs), so what passes here
# passes in CI; a campaign draws a new seed each run to explore further.
SMOKE = ["-seed=1", "-runs=10000"]


def fuzz_one(target: str, seconds: int, smoke: bool = False) -> None:
    """Runs in its own process: libFuzzer exits the process when it stops."""
    import atheris

    with atheris.instrument_imports(include=["unleak"]):
        from targets import TARGETS, run_one
    if target not in TARGETS:
        sys.exit(f"unknown target {target!r}; targets: {', '.join(TARGETS)}")
    corpus = HERE / "corpus" / target
    scratch = tempfile.mkdtemp(prefix=f"unleak-fuzz-{target}-")
    crashes = HERE / "crashes"
    crashes.mkdir(exist_ok=True)
    args = [
        sys.argv[0],
        scratch,
        *([str(corpus)] if corpus.is_dir() else []),
        f"-max_total_time={seconds}",
        *(SMOKE if smoke else []),
        "-timeout=10",  # a single input taking longer is a hang: a finding
        "-rss_limit_mb=3072",
        "-max_len=65536",
        f"-artifact_prefix={crashes}/{target}-",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, lambda data: run_one(target, data))
    atheris.Fuzz()


def main() -> int:
    from targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", choices=sorted(TARGETS), help="one target (default: all)")
    parser.add_argument("--seconds", type=int, default=60, help="time per target")
    parser.add_argument("--smoke", action="store_true", help="every target, 10,000 inputs from seed 1 (CI)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fuzz_one(args.target, args.seconds, smoke=args.smoke)
        return 0
    names = [args.target] if args.target else list(TARGETS)
    seconds = 60 if args.smoke else args.seconds  # with --smoke, a cap: -runs ends it first
    failed = []
    print(f"{'target':<16}{'seconds':>8}  result")
    for name in names:
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                name,
                "--seconds",
                str(seconds),
                "--child",
                *(["--smoke"] if args.smoke else []),
            ],
            capture_output=True,
            text=True,
        )
        took = time.monotonic() - start
        runs = next(
            (ln.split(":")[-1].strip() for ln in proc.stderr.splitlines() if "number_of_executed_units" in ln), "?"
        )
        ok = proc.returncode == 0
        print(f"{name:<16}{took:>8.1f}  {'ok' if ok else 'FINDING'} ({runs} inputs)", flush=True)
        if not ok:
            failed.append(name)
            print("\n".join(proc.stderr.splitlines()[-40:]), file=sys.stderr)
    if failed:
        print(f"findings in: {', '.join(failed)} (inputs saved in {HERE / 'crashes'})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
