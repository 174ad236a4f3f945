"""Every input the fuzzer kept (fuzz/corpus) and every crash it ever found (fuzz/crashes) is
refused cleanly: only with a one-line UnleakError, never another exception. `python fuzz/run.py`
finds new ones; this replays them without atheris."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))

from targets import TARGETS, run_one  # noqa: E402 - fuzz/ is not a package


def _inputs() -> list[tuple[str, Path]]:
    found = [(t, p) for t in TARGETS for p in sorted((FUZZ / "corpus" / t).glob("*"))]
    for kind in ("crash", "timeout", "oom"):
        found += [(p.name.split(f"-{kind}-")[0], p) for p in sorted((FUZZ / "crashes").glob(f"*-{kind}-*"))]
    return found


def test_every_target_has_a_seed_corpus() -> None:
    assert {t for t, _ in _inputs()} >= set(TARGETS)


@pytest.mark.parametrize(("target", "path"), _inputs(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_kept_input_is_refused_cleanly(target: str, path: Path) -> None:
    run_one(target, path.read_bytes())


# sniff's seeds are file heads, not whole files: a refusal is not a finding there.
_WHOLE_SEEDS = sorted(p for p in (FUZZ / "corpus").glob("*/seed*") if p.parent.name != "sniff")


@pytest.mark.parametrize("path", _WHOLE_SEEDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_seeds_are_accepted(path: Path) -> None:
    """A target that refuses its own well-formed seeds fuzzes nothing but its first check."""
    TARGETS[path.parent.name](path.read_bytes())
