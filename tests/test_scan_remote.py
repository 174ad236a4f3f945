"""The cluster path of a scan without a cluster: tasks run through `visit_remote` (the worker's
code) on an executor whose first run of every task dies; the scan runs each again and records
every copy, capture and log record once."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from unleak.bank import Bank
from unleak.demo.site import generate_site
from unleak.monitor.scan import Scanner, ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.net.fetch import FetchPolicy


class DyingOnce(ThreadPoolExecutor):
    """Every task's first run fails as a killed worker's would; the second runs it."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.seen: set[int] = set()
        self.runs = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        item_id = args[1]
        if item_id not in self.seen:
            self.seen.add(item_id)
            f: Future = Future()
            f.set_exception(OSError("worker died"))
            return f
        self.runs += 1
        return super().submit(fn, *args, **kwargs)


def test_tasks_lost_with_their_worker_run_again_and_record_once(store, samples):
    with generate_site(samples[:3], samples[10:12]) as site:
        Bank(store, "r").protect(samples[:3])
        src = add_source(store, "r", "crawl", [site.start_url], SourceOptions(depth=2, allow_networks=["127.0.0.1/32"]))
        executors: list[DyingOnce] = []

        def factory(spec):
            assert "password" not in spec.db_url and spec.case_id == Bank(store, "r").case_id
            executors.append(DyingOnce())
            return executors[-1]

        options = ScanOptions(policy=FetchPolicy(rate=None), executor=factory, verify="off")
        report = Scanner(store, "r", options).scan_source(src.id)
    assert report.finished and executors[0].runs == len(executors[0].seen) > 10
    assert {e.media_url for e in report.sightings} == set(site.truth)
    assert report.stats["captures"] == len(site.truth)
    from sqlalchemy import text

    with store.session() as s:
        actions = [a for (a,) in s.execute(text("select action from log_records"))]
    assert actions.count("sighting") == actions.count("capture") == len(site.truth)
