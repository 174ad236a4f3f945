"""Every command's `--json` output keeps the shape recorded before the layout refactor.

tests/golden/<command>.json holds what the code at 89a9210 printed for one scripted session
(tests/_golden.py). Rerun on the current code: every key path recorded must still be there with
the same JSON type, and with the same value unless it was volatile (differed between two
recordings). New keys are allowed but must be named in CHANGELOG.md.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

import _golden

GOLDEN = sorted(_golden.GOLDEN_DIR.glob("*.json"))
CHANGELOG = Path(__file__).parents[1] / "CHANGELOG.md"
# Values compared by type only: times the session took, and counts of log records and bundle
# files (a flow may log one more action, e.g. the case's signing key, without changing a contract).
TIMING_KEYS = {"median_hours", "p90_hours", "log_records", "records", "files"}
# Commands whose lines are a log of records: compared by shape (key paths and types, whatever
# the position), since a new kind of record shifts every position after it.
SHAPE_ONLY = {"evidence_log"}


@pytest.fixture(scope="module")
def current() -> dict[str, dict[str, Any]]:
    return _golden.run_session()


def _index(path: str) -> str:
    """`$[3].checks[0].url` -> `$[].checks[].url`: the path's shape, whatever the positions."""
    return re.sub(r"\[\d+\]", "[]", path)


def shapes(lines: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path, value in _golden.leaves(lines):
        out.setdefault(_index(path), set()).add(_golden.json_type(value))
    return out


def shape_differences(golden: dict[str, Any], now: dict[str, Any]) -> list[str]:
    have = shapes(now["lines"])
    problems = [f"{p}: missing" for p in shapes(golden["lines"]) if p not in have]
    return problems + [
        f"{p}: {sorted(have[p])}, was {sorted(t)}"
        for p, t in shapes(golden["lines"]).items()
        if p in have and not (t - {"null"}) <= have[p]
    ]


def differences(golden: dict[str, Any], now: dict[str, Any]) -> list[str]:
    problems = []
    if now["exit"] != golden["exit"]:
        problems.append(f"exit code {now['exit']}, was {golden['exit']}")
    volatile = set(golden["volatile"])
    have = dict(_golden.leaves(now["lines"]))
    for path, old in _golden.leaves(golden["lines"]):
        ancestors = [p for p in volatile if path.startswith((p + ".", p + "["))]
        if path not in have:
            if not ancestors:  # a list whose length varies from run to run may be shorter now
                problems.append(f"{path}: missing")
            continue
        new = have[path]
        if _golden.json_type(new) != _golden.json_type(old):
            problems.append(f"{path}: {_golden.json_type(new)}, was {_golden.json_type(old)} ({old!r})")
        elif (
            path in volatile
            or path.rsplit(".", 1)[-1] in TIMING_KEYS
            or isinstance(old, dict | list)
            or ".transform." in path
        ):
            continue
        elif isinstance(old, float) and isinstance(new, int | float):
            if not math.isclose(new, old, rel_tol=1e-6, abs_tol=1e-9):
                problems.append(f"{path}: {new!r}, was {old!r}")
        elif new != old:
            problems.append(f"{path}: {new!r}, was {old!r}")
    return problems


def added_keys(golden: dict[str, Any], now: dict[str, Any]) -> set[str]:
    """Key paths (shape only) present now in objects that were recorded, but not before."""
    before = {_index(p) for p, _ in _golden.leaves(golden["lines"])}
    return {_index(p) for p, _ in _golden.leaves(now["lines"])} - before


@pytest.mark.slow
@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_json_output_keeps_its_recorded_shape(path: Path, current):
    golden = json.loads(path.read_text())
    assert path.stem in current, f"`{' '.join(golden['command'])}` no longer ran"
    now = current[path.stem]
    problems = shape_differences(golden, now) if path.stem in SHAPE_ONLY else differences(golden, now)
    assert not problems, f"`{' '.join(golden['command'])}`:\n" + "\n".join(problems[:40])

    changelog = CHANGELOG.read_text()
    # Only a new key of an object counts: a longer list is data, not contract.
    unlisted = sorted(
        p for p in added_keys(golden, now) if not p.endswith("]") and f"`{p.rsplit('.', 1)[-1]}`" not in changelog
    )
    assert not unlisted, f"`{path.stem}` --json gained keys not named in CHANGELOG.md: {unlisted}"


def test_a_renamed_key_is_caught():
    """The comparison itself: a rename, a type change and a changed value each fail; an added key doesn't."""
    golden = {"exit": 0, "volatile": ["$[0].t"], "lines": [{"id": 1, "t": "TIME", "m": {"a": [1, 2]}}]}

    def now(**change):
        line = {"id": 1, "t": "other", "m": {"a": [1, 2]}} | change
        return {"exit": 0, "lines": [line]}

    assert differences(golden, now()) == []
    assert differences(golden, now(extra=True)) == []
    assert added_keys(golden, now(extra=True)) == {"$[].extra"}
    assert differences(golden, now(id=2)) == ["$[0].id: 2, was 1"]
    assert differences(golden, now(t=3)) == ["$[0].t: number, was string ('TIME')"]
    renamed = {"exit": 0, "lines": [{"id": 1, "t": "x", "m": {"b": [1, 2]}}]}
    assert "$[0].m.a: missing" in differences(golden, renamed)
