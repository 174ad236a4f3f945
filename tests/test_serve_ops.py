"""`unleak serve` in operation: Prometheus metrics, access logs without hashes, graceful stop."""

from __future__ import annotations

import io
import json
import logging
import signal
import stat
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest

from test_serve import Server
from test_serve_auth import _add_key, serving


def test_metrics_and_access_log_never_hold_a_hash(tmp_path):
    srv = Server(f"sqlite:///{tmp_path / 'ops.db'}", tmp_path)
    try:
        h = srv.http
        bank = "OPS_" + uuid.uuid4().hex[:6].upper()
        assert h.post("/c/banks", json={"name": bank}).status_code == 201
        pdq, other = "d" * 64, "0" * 63 + "1"
        assert h.post(f"/c/bank/{bank}/signal", json={"pdq": pdq}).status_code == 200
        assert bank in h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json()
        assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": other}).json() == {}
        assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq.upper()}).status_code == 400
        assert h.get(f"/c/bank/{bank}/content/1").status_code == 200
        for method in ("PROPFIND", "PURGE", "MKCOL"):  # methods no route has: one series for all
            h.request(method, "/status")
        text = h.get("/metrics").text
        assert 'method="other",route="/status"' in text and "PROPFIND" not in text and "PURGE" not in text
        assert 'unleak_serve_requests_total{method="GET",route="/m/lookup",status="200"} 2.0' in text
        assert 'unleak_serve_requests_total{method="GET",route="/m/lookup",status="400"} 1.0' in text
        assert 'route="/c/bank/{bank_name}/content/{content_id}"' in text  # templates, not bank names
        assert 'unleak_serve_lookups_total{matched="true",signal_type="pdq"} 1.0' in text
        assert 'unleak_serve_lookups_total{matched="false",signal_type="pdq"} 1.0' in text
        assert 'unleak_serve_index_size{signal_type="pdq"} 1.0' in text
        assert "unleak_serve_request_seconds_bucket" in text
        assert pdq not in text and bank not in text
        # graceful: a request in flight when SIGTERM arrives is answered, then the server exits
        sent_half, answer = threading.Event(), {}
        body = _multipart("photo", _jpeg())

        def slow_body():
            yield body[: len(body) // 2]
            sent_half.set()
            time.sleep(1.0)
            yield body[len(body) // 2 :]

        def upload():
            headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
            answer["r"] = httpx.post(srv.base + "/h/hash", content=slow_body(), headers=headers, timeout=30)

        thread = threading.Thread(target=upload)
        thread.start()
        assert sent_half.wait(10)
        srv.proc.send_signal(signal.SIGTERM)
        thread.join(30)
        assert answer["r"].status_code == 200 and len(answer["r"].json()["pdq"]) == 64
        assert srv.proc.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
        with pytest.raises(httpx.ConnectError):
            httpx.get(srv.base + "/status")
        log = srv.log.read_text()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        lookups = [e for e in lines if e["route"] == "/m/lookup"]
        assert [e["status"] for e in lookups] == [200, 200, 400]
        assert {"ts", "client", "method", "route", "status", "ms", "key"} <= set(lookups[0])
        assert pdq not in log and other not in log and pdq.upper() not in log  # no hash, anywhere
    finally:
        srv.http.close()
        if srv.proc.poll() is None:
            srv.stop()
        else:
            srv._out.close()


BOUNDARY = "unleak-test-boundary"


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).resize((512, 512)).save(buf, "JPEG")
    return buf.getvalue()


def _multipart(field: str, data: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def test_metrics_need_a_key_of_any_role_once_keys_exist(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    with serving(db_url, access_log=False) as h:
        assert h.get("/metrics").status_code == 200
        token = _add_key(db_url, "prometheus", "hasher")
        deadline = time.monotonic() + 3
        while h.get("/metrics").status_code != 401:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        r = h.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "unleak_serve_requests_total" in r.text
        # refused before routing, still counted under the route asked for
        assert h.get("/c/bank/SOME_BANK/content/7").status_code == 401
        text = h.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
        assert 'route="/c/bank/{bank_name}/content/{content_id}",status="401"' in text


def test_uvicorns_own_access_log_is_scrubbed():
    from unleak.serve.ops import ScrubQuery

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/m/lookup?signal_type=pdq&signal=" + "e" * 64, "1.1", 200),
        None,
    )
    assert ScrubQuery().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /m/lookup HTTP/1.1" 200'


def _lookup_total(text: str) -> float:
    """Every `GET /m/lookup` counted in a /metrics page, whatever its status."""
    prefix = 'unleak_serve_requests_total{method="GET",route="/m/lookup",status="'
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


@pytest.mark.slow  # two worker processes start (each imports and warms up the index): ~40 s here
def test_two_workers_share_metrics_and_rate_limits(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'two.db'}"
    srv = Server(db_url, tmp_path, "--workers", "2")
    try:
        token = _add_key(db_url, "platform", "matcher", rate=2)
        auth = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 5  # the key locks the server within a second
        while httpx.get(srv.base + "/m/lookup", params={"signal_type": "pdq", "signal": "d" * 64}).status_code != 401:
            assert time.monotonic() < deadline
            time.sleep(0.1)

        def workers_seen(after: int = 0, status: tuple[int, ...] = (200, 401, 429)) -> set[int]:
            lines = [json.loads(x) for x in srv.log.read_text().splitlines()[after:] if x.startswith("{")]
            return {
                e["pid"]
                for e in lines
                if e["route"] == "/m/lookup" and e["key"] == "platform" and e["status"] in status
            }

        deadline = time.monotonic() + 60  # each worker checks the key once (argon2), then keeps it
        while len(workers_seen()) < 2:
            assert time.monotonic() < deadline
            httpx.get(srv.base + "/m/lookup", params={"signal_type": "pdq", "signal": "d" * 64}, headers=auth)
        time.sleep(1.5)  # the bucket refills to its burst
        for line in srv.log.read_text().splitlines():
            assert not line.startswith("{") or json.loads(line)["status"] in (200, 401, 429)
        codes: list[int] = []
        logged = len(srv.log.read_text().splitlines())

        def hammer(stop: float) -> None:
            while time.monotonic() < stop:  # a fresh connection each time: both workers answer
                r = httpx.get(srv.base + "/m/lookup", params={"signal_type": "pdq", "signal": "d" * 64}, headers=auth)
                codes.append(r.status_code)

        start = time.monotonic()
        threads = [threading.Thread(target=hammer, args=(start + 3.0,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        allowed = codes.count(200)
        # 2 a second with a burst of 2, across both workers (each counting alone would allow twice that)
        assert set(codes) == {200, 429} and 2 <= allowed <= 2 + 2 * elapsed + 1, (allowed, len(codes), elapsed)
        pids = workers_seen(after=logged, status=(200, 429))
        assert len(pids) >= 2, pids  # the load was shared: the bucket held across both workers
        # the run directory the workers share: private to this user, and gone once the server stops
        environ = (Path("/proc") / str(min(pids)) / "environ").read_bytes().split(b"\0")
        run_dir = Path(next(v for v in environ if v.startswith(b"UNLEAK_SERVE_RUN_DIR=")).split(b"=", 1)[1].decode())
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700 and (run_dir / "rate-limits").exists()
        # /metrics, whichever worker answers it, counts every worker's requests
        scraper = {"Authorization": f"Bearer {_add_key(db_url, 'prometheus', 'hasher')}"}
        for _ in range(6):
            text = httpx.get(srv.base + "/metrics", headers=scraper, timeout=60).text
            assert _lookup_total(text) >= len(codes) + 2, text[-2000:]
            assert 'unleak_serve_requests_total{method="GET",route="/m/lookup",status="429"}' in text
    finally:
        srv.http.close()
        srv.stop()
    assert not run_dir.exists()


def test_a_worker_uses_only_a_private_run_directory(tmp_path):
    """Workers read the run directory's path from the environment: they refuse one that another
    user could read or plant links in, and never open the rate-limit file through a link."""
    import os

    from unleak.errors import UnleakError
    from unleak.serve import guard, ops

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    link = tmp_path / "link"
    link.symlink_to(private)
    for bad in (open_dir, link, tmp_path / "missing"):
        with pytest.raises(UnleakError):
            guard.rate_limiter(str(bad))
        with pytest.raises(UnleakError):
            ops.check_run_dir(str(bad))
    (private / guard.RATE_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        guard.rate_limiter(str(private))
    assert not (tmp_path / "elsewhere").exists()
    os.unlink(private / guard.RATE_FILE)
    assert guard.rate_limiter(str(private)).allow(1, 1.0) == 0.0


def test_a_full_rate_limit_table_is_logged_once(tmp_path, caplog):
    from unleak.serve import guard

    class Small(guard.SharedRateLimiter):
        SLOTS = 2

    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    limiter = Small(str(run_dir / guard.RATE_FILE))
    with caplog.at_level(logging.WARNING, logger="unleak.serve.guard"):
        for key_id in (1, 2, 3, 4, 3):
            assert limiter.allow(key_id, 1.0) == 0.0  # keys 3 and 4 find no slot: not limited
    assert [r.getMessage() for r in caplog.records].count(
        "rate limits: all 2 slots are taken; other keys are not limited"
    ) == 1, caplog.records
