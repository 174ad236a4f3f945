"""Run scans (and bulk matches) on a Dask cluster: `--cluster ADDRESS`, `--cluster local[:N]`.

Dask distributed does the scheduling, the retries after a worker dies and the data transfer;
unleak keeps what must not be lost in its database. A scan's frontier stays in the database
(PostgreSQL for a cluster of machines); the client, the process that runs `unleak scan`, reads the
pending tasks, submits them to the workers and writes each outcome, with its task marked done, in
one transaction. Workers fetch, decode, hash, match and verify, and send back what they found:
the capture's bytes included. They write nothing: the per-case secret keys (capture encryption,
the log's signing key) stay on the client's machine, which encrypts, writes and logs.

Per-host politeness holds across the cluster: a host's concurrency is a Dask `Semaphore`, its
rate (and robots.txt's Crawl-delay) a start time reserved under a Dask `Lock` (`DaskGate`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from unleak.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from unleak.monitor.scan import VisitSpec

SCHEDULER_ENV = "UNLEAK_DASK_SCHEDULER"
LOCAL_THREADS = 8  # threads a worker of `local[:N]` runs: fetches overlap; CPU work takes one core each
# The Dask resource of the workers trusted to make marked copies (`dask worker --resources
# unleak-mark=1`): a marking worker learns much of the case's codes (docs/cluster.md).
MARK_RESOURCE = "unleak-mark"

# Dask's periodic housekeeping, slowed down: idle, a LocalCluster of one worker took 4.2 % of a core
# with the defaults (the profiler samples every thread 100 times a second; the event loop's tick is
# 20 ms; system and memory monitors, work stealing 10 times a second) and 0.9 % with these. The same
# settings for `dask worker` / `dask scheduler` are in docs/cluster.md (DASK_ environment variables).
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing-interval": "1s",
    # A LocalCluster gives up on a worker its nanny has not restarted within this time (15 s by
    # default: too short on a loaded machine, where the replacement then never joins).
    "distributed.deploy.lost-worker-timeout": "60s",
}


class Cluster:
    """A connection to a Dask scheduler (or a LocalCluster it started). Use as a context manager."""

    def __init__(self, address: str | None = None, *, threads: int = LOCAL_THREADS) -> None:
        address = (address or os.environ.get(SCHEDULER_ENV) or "").strip()
        if not address:
            raise ConfigError(
                "no Dask scheduler given",
                hint=f"use --cluster tcp://HOST:8786, --cluster local[:N], or set {SCHEDULER_ENV}",
            )
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a dependency
            raise ConfigError("Dask distributed is not installed", hint='pip install "unleak[cluster]"') from None
        self.address = address
        self.local: LocalCluster | None = None
        if address == "local" or address.startswith("local:"):
            n_text = address.partition(":")[2] or str(os.cpu_count() or 1)
            try:
                n = int(n_text)
                if n < 1:
                    raise ValueError
            except ValueError:
                raise ConfigError(
                    f"bad --cluster {address!r}: the number of workers must be a whole number over 0",
                    hint="e.g. --cluster local:4",
                ) from None
            import dask

            # The workers (started by nannies) take this process's Dask settings with them.
            dask.config.set(QUIET)
            self.local = LocalCluster(
                n_workers=n,
                threads_per_worker=threads,
                processes=True,
                dashboard_address=":0",  # the scheduler's HTTP server (health checks) on a free port
                scheduler_kwargs={"dashboard": False},  # without the dashboard: nobody would know its port
                silence_logs=40,
                resources={MARK_RESOURCE: threads},  # this machine's own workers are trusted to mark
            )
            self.client: Client = Client(self.local)
        else:
            try:
                self.client = Client(address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {address}: {exc}",
                    hint="start it with `dask scheduler` and check the address (tcp://HOST:8786)",
                ) from None

    def threads(self) -> int:
        """Threads across the workers connected now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def workers(self) -> int:
        return len(self.client.nthreads())

    def executor(self, resources: dict[str, float] | None = None) -> Executor:
        """A concurrent.futures Executor whose tasks run on the workers (not cached: results differ);
        with `resources`, only on workers that declare them."""
        if resources:
            return self.client.get_executor(pure=False, resources=resources)
        return self.client.get_executor(pure=False)

    def has_resource(self, name: str) -> bool:
        """Whether a worker connected now declares this Dask resource."""
        workers = self.client.scheduler_info().get("workers", {})
        return any(w.get("resources", {}).get(name, 0) > 0 for w in workers.values())

    def scan_executor(self) -> Callable[[VisitSpec], Executor]:
        return lambda _spec: self.executor()

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskGate:
    """One host's politeness, shared by every worker of the cluster (a drop-in for the Fetcher's
    per-process gate): at most `concurrency` requests in flight, request starts `interval` apart."""

    def __init__(self, host: str, interval: float, concurrency: int) -> None:
        from distributed import Semaphore

        self.host = host
        self.interval = interval
        # A dead worker's leases are released after distributed.scheduler.locks.lease-timeout.
        self.semaphore = Semaphore(max_leases=max(1, concurrency), name=f"unleak-host-{concurrency}-{host}")

    def wait_turn(self) -> float:
        """Wait for this host's next turn; the start time reserved (no request starts before it)."""
        if self.interval <= 0:
            return time.time()
        from distributed import Lock, get_client

        client = get_client()
        key = ["unleak-next-start", self.host]
        with Lock(f"unleak-rate-{self.host}"):
            now = time.time()
            start = max(now, float(client.get_metadata(key, default=0.0)))
            client.set_metadata(key, start + self.interval)
        if start > now:
            time.sleep(start - now)
        return start


def scan_options_for(cluster: Cluster, options: Any) -> Any:
    """`options` (a ScanOptions) made to run on the cluster: tasks on its workers, politeness shared,
    enough tasks in flight to keep every worker thread busy."""
    options.executor = cluster.scan_executor()
    options.gates = DaskGate
    options.concurrency = max(options.concurrency, cluster.threads())
    return options


# --- CPU work on a worker ----------------------------------------------------------------------
_cpu_slots: threading.Semaphore | None = None
_cpu_slots_lock = threading.Lock()


def cpu_slot() -> threading.Semaphore:
    """At most one CPU-bound task per core this worker may use (its affinity), as the scan's
    Visitor does: a worker's threads are for fetches; more decodes at once than cores only thrash."""
    global _cpu_slots
    with _cpu_slots_lock:  # a worker's first tasks start together: one semaphore, not one each
        if _cpu_slots is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            _cpu_slots = threading.Semaphore(cores or 1)
        return _cpu_slots


def batch_size(n: int, threads: int, largest: int) -> int:
    """Items a task: few tasks (each costs the scheduler and the client), but at least about four
    a worker thread, so that no worker idles while another finishes a long batch."""
    return max(1, min(largest, -(-n // (4 * max(1, threads)))))


# --- bulk matching ---------------------------------------------------------------------------
_matchers: dict[tuple, tuple[Any, tuple, float]] = {}  # per worker process: (matcher, fingerprint, checked)
_matchers_lock = threading.Lock()


def public_url(store_url: Any) -> str:
    """A database URL to hand to workers: without its password (a worker uses its own UNLEAK_DB)."""
    return store_url.set(password=None).render_as_string(hide_password=False)


def worker_matcher(db_url: str, case_id: int, options: tuple[tuple[str, Any], ...]) -> Any:
    """This worker's Matcher of one bank with these options: built once, again when the bank changes."""
    from unleak.bank import Bank
    from unleak.config import env_number
    from unleak.match import Matcher
    from unleak.match.shared_index import shared_folder, shared_matcher
    from unleak.monitor.scan import BANK_CHECK_SECONDS, worker_store

    key = (db_url, case_id, options)
    with _matchers_lock:
        now = time.monotonic()
        cached = _matchers.get(key)
        if cached is not None and now - cached[2] < env_number("UNLEAK_BANK_CHECK_SECONDS", BANK_CHECK_SECONDS):
            return cached[0]
        bank = Bank.by_id(worker_store(db_url), case_id)
        fp = bank.fingerprint()
        if cached is not None and cached[1] == fp:
            _matchers[key] = (cached[0], fp, now)
            return cached[0]
        folder = shared_folder()
        matcher = shared_matcher(bank, folder, **dict(options)) if folder else Matcher(bank, **dict(options))
        _matchers[key] = (matcher, fp, now)
        return matcher


def match_batch(db_url: str, case_id: int, options: tuple[tuple[str, Any], ...], targets: list[str]) -> list[list]:
    """On a worker: the MatchResults of each target (a file on shared storage, or a URL)."""
    matcher = worker_matcher(db_url, case_id, options)
    out = []
    for t in targets:
        with cpu_slot():
            out.append(list(matcher.match_paths([t])))
    return out


def match_targets(
    cluster: Cluster, bank: Any, targets: list[str], options: dict[str, Any], *, batch: int = 0
) -> Iterator[list]:
    """The MatchResults of each target, in order, matched on the cluster's workers in batches."""
    batch = batch or batch_size(len(targets), cluster.threads(), 16)
    db_url = public_url(bank.store.engine.url)
    frozen = tuple(sorted(options.items()))
    batches = [targets[i : i + batch] for i in range(0, len(targets), batch)]
    executor = cluster.executor()
    try:
        for results in executor.map(match_batch, *zip(*[(db_url, bank.case_id, frozen, b) for b in batches])):
            yield from results
    finally:
        executor.shutdown(wait=False)


# --- protecting ------------------------------------------------------------------------------
def fingerprint_batch(paths: list[str], variants: bool) -> list:
    """On a worker: the Fingerprint of each file (signals and bank-side variants), nothing written."""
    from unleak.bank import fingerprint_file

    out = []
    for p in paths:
        with cpu_slot():
            out.append(fingerprint_file(p, variants))
    return out


def fingerprint_files(cluster: Cluster, paths: list[str], variants: bool, *, batch: int = 4) -> Iterator[Any]:
    """The Fingerprint of each file (absolute paths on shared storage), in order, made on the workers;
    the client records them (Bank.protect_one(..., computed=...))."""
    batches = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    executor = cluster.executor()
    try:
        for fps in executor.map(fingerprint_batch, batches, [variants] * len(batches)):
            yield from fps
    finally:
        executor.shutdown(wait=False)


def warm_matcher(db_url: str, case_id: int, options: tuple[tuple[str, Any], ...]) -> bool:
    """On a worker: build its Matcher of the bank now (before a timed run); True when done."""
    return worker_matcher(db_url, case_id, options) is not None
