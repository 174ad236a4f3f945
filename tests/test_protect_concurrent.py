"""Protect runs at the same time over the same files: each file lands in the bank once, every run
succeeds (no "database is locked"), and a removed item has no twin left matching."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

import unleak
from unleak.bank import Bank
from unleak.store import open_store
from unleak.store.models import BankItem

N_FILES = 40


def _make_images(folder: Path, n: int) -> Path:
    """`n` small distinct images (random 8x8 colour fields, scaled up)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    for i in range(n):
        cells = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(cells).resize((96, 96), Image.BILINEAR).save(folder / f"img{i:03d}.png")
    return folder


def _bank_rows(store, case: str) -> tuple[int, int]:
    """(items, distinct digests) in the case's bank."""
    with store.session() as s:
        return tuple(
            s.execute(
                select(func.count(), func.count(func.distinct(BankItem.sha256))).where(
                    BankItem.case_id == store.case(s, case).id
                )
            ).one()
        )


@pytest.mark.parametrize("runs", [2, 4])
def test_concurrent_protects_bank_each_file_once(store, tmp_path, runs):
    folder = _make_images(tmp_path / "photos", N_FILES)
    start = threading.Barrier(runs)
    outcomes: list[list] = [[] for _ in range(runs)]
    crashes: list[BaseException] = []

    def run(k: int) -> None:
        own = open_store(store.url)  # a store of its own, as a second process would have
        try:
            bank = Bank(own, "together")
            start.wait(timeout=120)
            outcomes[k] = bank.protect([folder], variants=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            crashes.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert crashes == []
    errors = [r.error for rs in outcomes for r in rs if r.error]
    assert errors == []
    assert all(len(rs) == N_FILES for rs in outcomes)
    assert _bank_rows(store, "together") == (N_FILES, N_FILES)
    # every run names the same bank item for a file, whether it added it or found it there
    ids = {r.path: set() for r in outcomes[0]}
    for rs in outcomes:
        for r in rs:
            ids[r.path].add(r.bank_id)
    assert all(len(v) == 1 for v in ids.values())
    assert sum(1 for rs in outcomes for r in rs if not r.skipped) == N_FILES


def _cli_env(url: str, home: Path) -> dict[str, str]:
    src = str(Path(unleak.__file__).resolve().parents[1])
    return {
        **os.environ,
        "UNLEAK_DB": url.replace("postgresql+psycopg://", "postgresql://", 1),
        "UNLEAK_HOME": str(home),
        "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


@pytest.mark.parametrize("runs", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_concurrent_protect_commands(store, tmp_path, runs):
    """Real `unleak protect` processes, started together on a store that already exists."""
    folder = _make_images(tmp_path / "photos", 30)
    env = _cli_env(store.url, tmp_path / "home")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "unleak", "protect", "--case", "shared", "--json", str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(runs)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "locked" not in err
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 30 and all(r["error"] is None for r in lines)
    assert _bank_rows(store, "shared") == (30, 30)


def test_remove_after_concurrent_protect_leaves_nothing_matching(store, tmp_path):
    from unleak.match import Matcher
    from unleak.signals import Media

    folder = _make_images(tmp_path / "photos", 6)
    test_concurrent = [open_store(store.url) for _ in range(2)]
    start = threading.Barrier(2)

    def run(own) -> None:
        bank = Bank(own, "rm")
        start.wait(timeout=120)
        bank.protect([folder], variants=True)

    threads = [threading.Thread(target=run, args=(own,)) for own in test_concurrent]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for own in test_concurrent:
        own.close()
    bank = Bank(store, "rm")
    target = folder / "img000.png"
    (hit,) = {m.bank_id for m in Matcher(bank).match_media(Media.open(target)).matches}
    bank.remove([hit])
    assert Matcher(Bank(store, "rm")).match_media(Media.open(target)).matches == []
    # and protecting it again is refused, not a new bank item
    (again,) = Bank(store, "rm").protect([target])
    assert again.refused and again.bank_id is None


def test_processes_opening_a_new_database_at_once_all_succeed(store, tmp_path):
    """Several first runs at once on a database with no tables: one migrates, the others wait."""
    if store.engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:  # a schema of its own, beside the fixture's
        import uuid

        schema = "t_" + uuid.uuid4().hex[:12]
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = store.url.rsplit("search_path%3D", 1)[0] + f"search_path%3D{schema}"
    code = "import sys; from unleak.store import open_store; open_store(sys.argv[1]).close()"
    env = _cli_env(url, tmp_path / "home")
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    try:
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        fresh = open_store(url)
        with fresh.session() as s:
            assert fresh.case(s).name == "default"
        fresh.close()
    finally:
        if store.engine.dialect.name != "sqlite":
            with store.engine.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
