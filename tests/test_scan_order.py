"""A scan's results do not depend on which fetch finishes first: sightings are recorded (and
numbered) in frontier order, and the verifier's approximate matching gives the same matches in
any thread, whatever that thread ran before."""

from __future__ import annotations

import random
import threading
import time

import cv2
import numpy as np
from PIL import Image

from unleak.bank import Bank
from unleak.demo.site import generate_site
from unleak.evidence.sightings import list_sightings
from unleak.match.verify import _flann, _ratio_matches, extract
from unleak.monitor.scan import Scanner, ScanOptions
from unleak.monitor.sources import SourceOptions, add_source
from unleak.net.fetch import Fetcher, FetchPolicy

FAST = FetchPolicy(rate=None, retries=0)


def _scan(store, samples, monkeypatch, delays: list[float]) -> tuple[list, list]:
    """Scan the generated site, the n-th fetch held back by delays[n] seconds (0 beyond the list)."""
    real, lock, count = Fetcher.fetch, threading.Lock(), [0]

    def fetch(self, url, *args, **kwargs):
        with lock:
            n, count[0] = count[0], count[0] + 1
        time.sleep(delays[n] if n < len(delays) else 0.0)
        return real(self, url, *args, **kwargs)

    monkeypatch.setattr(Fetcher, "fetch", fetch)
    with generate_site(samples[:3], samples[10:12]) as site:
        Bank(store, "o").protect(samples[:3], variants=False)
        src = add_source(store, "o", "crawl", [site.start_url], SourceOptions(depth=2, allow_networks=["127.0.0.1/32"]))
        report = Scanner(store, "o", ScanOptions(policy=FAST, verify="off", concurrency=4)).scan_source(src.id)
        base = site.start_url.rsplit("/", 1)[0]

    def strip(url: str | None) -> str | None:  # the site's port changes from run to run
        return url.replace(base, "") if url else url

    events = [(e.sighting_id, strip(e.page_url), strip(e.media_url)) for e in report.sightings]
    listed = [(s.id, strip(s.page_url), strip(s.media_url)) for s in list_sightings(store, "o")]
    return events, listed


def test_sightings_are_numbered_in_frontier_order_whichever_fetch_finishes_first(tmp_path, samples, monkeypatch):
    from unleak.store import open_store

    rng = random.Random(7)
    schedules = {
        "none": [],
        "early ones slow": [0.05 * (40 - n) for n in range(40)],  # the later a fetch starts, the sooner it ends
        "random": [rng.uniform(0, 0.15) for _ in range(40)],
    }
    runs = {}
    for name, delays in schedules.items():
        store = open_store(f"sqlite:///{tmp_path / (name + '.db')}")
        try:
            with monkeypatch.context() as m:
                runs[name] = _scan(store, samples, m, delays)
        finally:
            store.close()
    events, listed = runs["none"]
    assert len(events) == 3 and events == listed  # printed as recorded, listed by id
    assert [e[0] for e in events] == [1, 2, 3]
    assert [page for _, page, _ in events] == ["/posts/0.html", "/posts/1.html", "/posts/2.html"]
    for name in schedules:
        assert runs[name] == (events, listed), name


def test_verifier_matches_do_not_depend_on_the_thread_s_random_state(samples):
    original = extract(np.asarray(Image.open(samples[0]).convert("RGB")))
    copy = extract(np.asarray(Image.open(samples[0]).convert("RGB").resize((300, 200))))

    def pairs(seed: int | None) -> bytes:
        if seed is not None:
            cv2.setRNGSeed(seed)  # what other OpenCV work on this thread may have left behind
        return _ratio_matches(copy.descriptors, original.descriptors, _flann(original.descriptors)).tobytes()

    found: list[bytes] = []
    worker = threading.Thread(target=lambda: found.append(pairs(None)))
    worker.start()
    worker.join()
    distinct = {pairs(seed) for seed in (1, 2, 3, 12345)} | set(found)
    assert len(distinct) == 1, f"{len(distinct)} different sets of matches for the same two images"
