"""Scans on a Dask cluster (a LocalCluster of 2 worker processes) against PostgreSQL: the same
sightings as a single-process scan; a worker killed with SIGKILL and the client killed and
restarted lose nothing and record nothing twice; politeness holds across the workers."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed")

from unleak.demo.site import generate_site

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


@pytest.fixture(scope="module")
def dask_cluster():
    """Two worker processes (with nannies, which restart a killed worker), 4 threads each."""
    import dask
    from distributed import Client, LocalCluster

    from unleak.cluster import QUIET

    old = os.environ.get("UNLEAK_BANK_CHECK_SECONDS")
    os.environ["UNLEAK_BANK_CHECK_SECONDS"] = "0"  # workers see a bank change at their next task
    with dask.config.set(QUIET):  # as `--cluster local`: a killed worker's replacement may be slow to join
        cluster = LocalCluster(n_workers=2, threads_per_worker=4, processes=True, dashboard_address=":0")
        client = Client(cluster)
        yield cluster, client
        client.close()
        cluster.close()
    if old is None:
        os.environ.pop("UNLEAK_BANK_CHECK_SECONDS", None)
    else:
        os.environ["UNLEAK_BANK_CHECK_SECONDS"] = old


def _log_actions(cli, case: str) -> list[str]:
    code, out, _ = cli("evidence", "log", "--case", case, "--json", "--last", "0")
    assert code == 0
    return [r["record"]["action"] for r in _json_lines(out)]


def test_cluster_scan_finds_what_one_process_finds(dask_cluster, pg_url, monkeypatch, cli, samples):
    cluster, _client = dask_cluster
    monkeypatch.setenv("UNLEAK_DB", pg_url)
    with generate_site(samples[:4], samples[10:13]) as site:
        found = {}
        for case, where in (("one", None), ("many", cluster.scheduler_address)):
            assert cli("protect", "--case", case, *samples[:3])[0] == 0
            assert cli("source", "add", "crawl", site.start_url, "--case", case, "--depth", "2",
                       "--allow-network", "127.0.0.1/32")[0] == 0  # fmt: skip
            args = ["scan", "--case", case, "--json", "--rate", "0"] + (["--cluster", where] if where else [])
            code, out, err = cli(*args)
            assert code == 0, err
            found[case] = sorted((f["media_url"], f["bank_id"] - min(x["bank_id"] for x in _json_lines(out)))
                                 for f in _json_lines(out))  # fmt: skip
            code, out, _ = cli("sightings", "--case", case, "--json")
            sightings = _json_lines(out)
            assert all(len(s["captures"]) == 1 for s in sightings)
            actions = _log_actions(cli, case)
            assert actions.count("sighting") == actions.count("capture") == len(sightings)
        assert found["one"] == found["many"]
        three = {u for u, label in site.truth.items() if label in {p.stem for p in samples[:3]}}
        assert {u for u, _ in found["many"]} == three

        # the bank changes: the workers (still running, index built) match the newly protected photo
        assert cli("protect", "--case", "many", samples[3])[0] == 0
        code, out, err = cli("scan", "--case", "many", "--json", "--rate", "0", "--cluster", cluster.scheduler_address)
        assert code == 0, err
        assert {f["media_url"] for f in _json_lines(out)} == set(site.truth)
        assert sum(f["new"] for f in _json_lines(out)) == len(site.truth) - len(three)


def test_killed_worker_and_killed_client_lose_nothing_and_double_nothing(
    dask_cluster, pg_url, monkeypatch, cli, samples, _isolated_home
):
    """SIGKILL a worker mid-scan (its nanny starts another; Dask runs its tasks again), then SIGKILL
    the client; a new client resumes: every copy is found, captured and logged exactly once."""
    cluster, client = dask_cluster
    monkeypatch.setenv("UNLEAK_DB", pg_url)
    with generate_site(samples[:8], samples[10:14]) as site:
        assert cli("protect", "--case", "k", "--no-variants", *samples[:8])[0] == 0
        assert cli("source", "add", "crawl", site.start_url, "--case", "k", "--allow-network", "127.0.0.1/32")[0] == 0
        env = dict(os.environ, UNLEAK_HOME=str(_isolated_home), UNLEAK_DB=pg_url)
        cmd = [sys.executable, "-m", "unleak", "scan", "--case", "k", "--rate", "4", "--json"]
        proc = subprocess.Popen(
            [*cmd, "--cluster", cluster.scheduler_address],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from sqlalchemy import create_engine, text

        engine = create_engine(pg_url)

        def count(sql: str) -> int:
            with engine.connect() as c:
                return c.execute(text(sql)).scalar() or 0

        def wait_for(sql: str, n: int, seconds: float = 120) -> int:
            deadline = time.time() + seconds
            while time.time() < deadline:
                time.sleep(0.05)
                try:
                    got = count(sql)
                except Exception:  # noqa: BLE001 - tables not made yet
                    continue
                if got >= n:
                    return got
            return count(sql)

        assert wait_for("select count(*) from sightings", 1) >= 1
        pids = client.run(os.getpid)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        done_then = count("select count(*) from scan_items where status != 'pending'")
        wait_for("select count(*) from scan_items where status != 'pending'", done_then + 3, 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        found_then = count("select count(*) from sightings")
        assert found_then < len(site.truth), "the client should have been killed half-way"
        engine.dispose()

        code, out, err = cli("scan", "--case", "k", "--rate", "0", "--json", "--cluster", cluster.scheduler_address)
        assert code == 0, err
        code, out, _ = cli("sightings", "--case", "k", "--json")
        sightings = _json_lines(out)
        assert sorted(s["media_url"] for s in sightings) == sorted(site.truth)
        assert all(len(s["captures"]) == 1 for s in sightings)
        actions = _log_actions(cli, "k")
        assert actions.count("sighting") == len(site.truth) and actions.count("capture") == len(site.truth)
        assert "scan_resumed" in actions
        assert len(client.run(os.getpid)) == 2  # the nanny replaced the killed worker


def test_politeness_is_shared_by_the_workers(dask_cluster):
    """A host's request starts are spaced by its rate across both workers, not per worker."""
    _cluster, client = dask_cluster
    from unleak.cluster import DaskGate

    def start(host: str) -> tuple[float, float]:
        gate = DaskGate(host, 0.25, 2)
        with gate.semaphore:
            turn = gate.wait_turn()
            return turn, time.time()

    host = f"polite-{time.time_ns()}.test"
    futures = [client.submit(start, host, pure=False, workers=[w]) for w in client.nthreads() for _ in range(4)]
    starts = sorted(client.gather(futures))
    # The turns handed out across both workers are a rate's interval apart (a per-worker gate would
    # hand out two at once), and no request starts before its turn. (The start times themselves
    # also carry the machine's scheduling delays: on a loaded machine they are not exactly 0.25 s apart.)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(starts)]
    assert len(starts) == 8 and min(gaps) >= 0.25 - 1e-6, gaps
    assert all(actual >= turn for turn, actual in starts)


def test_bulk_match_on_the_cluster_prints_what_one_process_prints(dask_cluster, pg_url, monkeypatch, cli, samples,
                                                                   tmp_path):  # fmt: skip
    from PIL import Image

    cluster, _client = dask_cluster
    monkeypatch.setenv("UNLEAK_DB", pg_url)
    assert cli("protect", "--case", "m", *samples[:3])[0] == 0
    dump = tmp_path / "dump"
    dump.mkdir()
    for i, p in enumerate(samples[:3] + samples[10:15]):  # 3 copies (rescaled, recompressed), 5 others
        im = Image.open(p).convert("RGB")
        im.thumbnail((300, 300))
        im.save(dump / f"{i:02d}.jpg", quality=70)
    (dump / "broken.jpg").write_bytes(b"not an image")
    local = cli("match", "--case", "m", "--json", dump)
    spread = cli("match", "--case", "m", "--json", dump, "--cluster", cluster.scheduler_address)
    assert local[0] == spread[0] == 1  # the broken file is reported, as without a cluster

    # The same objects with the same keys, the same matches; the owner-side alignment's estimate
    # (inliers, transform) is not bit-identical from one process to another (threads in RANSAC).
    def same(rows: list[dict]) -> list:
        return [
            (r["path"], r["error"], sorted(r), [(sorted(m), m["bank_id"], m["label"], m["distance"], m["verified"])
                                                for m in r["matches"]])
            for r in rows
        ]  # fmt: skip

    assert same(_json_lines(local[1])) == same(_json_lines(spread[1]))
    matched = [r["path"] for r in _json_lines(spread[1]) if r["matches"]]
    assert sorted(matched) == [str(dump / f"{i:02d}.jpg") for i in range(3)]


def test_protect_on_the_cluster_records_what_one_process_records(dask_cluster, pg_url, monkeypatch, cli, samples,
                                                                 tmp_path):  # fmt: skip
    cluster, _client = dask_cluster
    monkeypatch.setenv("UNLEAK_DB", pg_url)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    files = [*samples[:3], broken]
    out = {}
    for case, extra in (("here", []), ("there", ["--cluster", cluster.scheduler_address])):
        code, text, _ = cli("protect", "--case", case, "--json", *files, *extra)
        assert code == 1  # the broken file, as without a cluster
        out[case] = [{k: v for k, v in r.items() if k != "bank_id"} for r in _json_lines(text)]
    assert out["here"] == out["there"]
    assert [r["error"] is not None for r in out["there"]] == [False, False, False, True]
    from unleak.bank import Bank
    from unleak.store import open_store

    store = open_store(pg_url)
    stored = {
        case: sorted((label, value, variant) for _, _, label, value, variant in
                     Bank(store, case).active_signals("pdq", with_variants=True))
        for case in ("here", "there")
    }  # fmt: skip
    store.close()
    assert stored["here"] == stored["there"] and len(stored["here"]) > 3  # the same hashes and variants
    code, text, _ = cli("protect", "--case", "there", "--json", *samples[:3], "--cluster", cluster.scheduler_address)
    assert code == 0 and all(r["skipped"] for r in _json_lines(text))
