"""The take-down step the demo runs: draft, confirm, record, take down on the site, verify, report."""

from __future__ import annotations

import io

from rich.console import Console

from _site import load_site


def test_takedown_demo_step(store, samples):
    from unleak.bank import Bank
    from unleak.demo.takedown import run_takedown_demo
    from unleak.monitor.scan import ScanOptions, scan
    from unleak.monitor.sources import add_source
    from unleak.monitor.sources.base import SourceOptions
    from unleak.net.fetch import FetchPolicy

    with load_site().generate_site(samples[:3], samples[10:12]) as site:
        Bank(store, "demo").protect(samples[:3])
        add_source(store, "demo", "crawl", [site.start_url], SourceOptions(depth=2, allow_networks=["127.0.0.1/32"]))
        scan(store, "demo", options=ScanOptions(policy=FetchPolicy(rate=None), concurrency=2, capture=False))
        buf = io.StringIO()
        out = run_takedown_demo(store, "demo", site, console=Console(file=buf, width=120))
    assert len(out["notices"]) == 1 and len(out["removed"]) == 2
    assert out["gone"] >= 2 and out["up"] >= 1
    [row] = out["report"]["by_host_basis"]
    assert row["notices_sent"] == 1 and row["urls_removed"] >= 2
    assert "TAKE IT DOWN" in buf.getvalue() or "take-it-down" in buf.getvalue()
