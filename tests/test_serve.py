"""`unleak serve` over real HTTP: a uvicorn process on 127.0.0.1, on SQLite and on PostgreSQL,
driven with httpx the way an HMA client drives HMA."""

from __future__ import annotations

import http.server
import io
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import PG_URL, _pg_available

ROOT = Path(__file__).resolve().parents[1]
MAX_PIXELS = 4_000_000
MAX_FILE = 3 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(db_url: str, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""),
        UNLEAK_DB=db_url,
        UNLEAK_HOME=str(home),
        UNLEAK_MAX_IMAGE_PIXELS=str(MAX_PIXELS),
        UNLEAK_MAX_FILE_BYTES=str(MAX_FILE),
    )
    return env


class Server:
    def __init__(self, db_url: str, home: Path, *args: str) -> None:
        self.db_url, self.home = db_url, home
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        cmd = [sys.executable, "-m", "unleak", "serve", "--port", str(self.port), *args]
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(cmd, env=_env(db_url, home), stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # a shared, loaded machine starts two workers slowly
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.base + "/status", timeout=2).text == "I-AM-ALIVE":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise AssertionError(f"server did not come up: {self.log.read_text()}")
        self.http = httpx.Client(base_url=self.base, timeout=60)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "unleak", *args],
            env=_env(self.db_url, self.home),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("serve-home")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'unleak.db'}"
    else:
        if not _pg_available():
            pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
        import psycopg

        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    srv = Server(url, home, "--dev", "--allow-network", "127.0.0.0/8")
    yield srv
    srv.http.close()
    srv.stop()
    if schema:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _bank(srv: Server) -> str:
    name = "B_" + uuid.uuid4().hex[:10].upper()
    r = srv.http.post("/c/banks", json={"name": name})
    assert r.status_code == 201, r.text
    return name


def _rand_pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(h: str, bits: int) -> str:
    v = int(h, 16)
    for b in range(bits):
        v ^= 1 << (b * 6)
    return f"{v:064x}"


def _png(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def _sizes(srv: Server) -> dict:
    return srv.http.get("/c/signal_type/index").json()


def test_health_discovery_and_openapi(server):
    h = server.http
    assert (h.get("/status").status_code, h.get("/status").text) == (200, "I-AM-ALIVE")
    assert h.get("/status/live").text == "I-AM-ALIVE"
    r = h.get("/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/status"
    site = h.get("/site-map").json()
    assert {"/m/lookup", "/c/banks", "/h/hash", "/c/bank/{bank_name}/content/{content_id}"} <= set(site)
    doc = h.get("/openapi/openapi.json").json()
    assert doc["info"]["title"] == "Open Media Match API"
    assert "/m/raw_lookup" in doc["paths"]
    assert h.get("/c/signal_type").json() == [
        {"name": "pdq", "enabled_ratio": 1.0},
        {"name": "video_md5", "enabled_ratio": 1.0},
        {"name": "vpdq", "enabled_ratio": 1.0},
    ]
    assert h.get("/c/content_type").json() == [{"name": "photo", "enabled": True}, {"name": "video", "enabled": True}]
    status = h.get("/m/index/status").json()
    assert status["pdq"]["present"] is True and isinstance(status["pdq"]["size"], int)
    assert h.get("/m/index/status", params={"signal_type": "nope"}).status_code == 400


def test_banks_like_hma(server):
    h = server.http
    name = _bank(server)
    assert h.post("/c/banks", json={"name": name}).json() == {"message": "Bank already exists"}
    assert h.post("/c/banks", json={"name": name}).status_code == 403
    for bad in ("lower", "Mixed_Case", "1STARTS_WITH_DIGIT", "HAS-DASH", "", 7, None):
        r = h.post("/c/banks", json={"name": bad})
        assert r.status_code == 400 and r.json() == {"message": "Bank names must be UPPER_WITH_UNDERSCORE"}
    assert {"name": name, "matching_enabled_ratio": 1.0} in h.get("/c/banks").json()
    assert h.get(f"/c/bank/{name}").json() == {"name": name, "matching_enabled_ratio": 1.0}
    assert h.get("/c/bank/NO_SUCH_BANK").status_code == 404
    other = _bank(server)
    assert h.put(f"/c/bank/{name}", json={"name": other}).status_code == 403
    renamed = name + "_R"
    r = h.put(f"/c/bank/{name}", json={"name": renamed, "enabled_ratio": 0.25})
    assert r.json() == {"name": renamed, "matching_enabled_ratio": 0.25}
    assert h.put(f"/c/bank/{renamed}", json={"enabled": False}).json()["matching_enabled_ratio"] == 0.0
    assert h.put(f"/c/bank/{renamed}", json={"enabled_ratio": 2}).status_code == 400
    assert h.delete(f"/c/bank/{renamed}").json() == {"message": "Done"}
    assert h.delete(f"/c/bank/{renamed}").json() == {"message": "Done"}  # missing: still Done, as HMA
    assert h.get(f"/c/bank/{renamed}").status_code == 404


def test_add_match_delete_is_immediate(server):
    h = server.http
    rng = random.Random(1)
    bank = _bank(server)
    pdq = _rand_pdq(rng)
    r = h.post(f"/c/bank/{bank}/signal", json={"pdq": pdq, "note": "first"})
    assert r.status_code == 200
    cid = r.json()["id"]
    assert r.json() == {"id": cid, "signals": {"pdq": pdq}}
    # matched on the very next request, distances as strings, threshold 31 inclusive
    assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {
        bank: [{"bank_content_id": cid, "distance": "0"}]
    }
    near = h.get("/m/lookup", params={"signal_type": "pdq", "signal": _flip(pdq, 31)}).json()
    assert near == {bank: [{"bank_content_id": cid, "distance": "31"}]}
    assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": _flip(pdq, 32)}).json() == {}
    raw = h.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": _flip(pdq, 3), "include_distance": "true"})
    assert raw.json() == {"matches": [{"bank_content_id": cid, "distance": "3"}]}
    assert h.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {"matches": [cid]}
    # bank filter: an unknown bank is no error, just no match
    assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq, "banks": "NOT_A_BANK"}).json() == {}
    got = h.get(f"/c/bank/{bank}/content/{cid}", params={"include_signals": "true"}).json()
    assert got == {
        "id": cid,
        "bank": {"name": bank, "matching_enabled_ratio": 1.0},
        "disable_until_ts": 1,
        "signals": {"pdq": pdq},
        "note": "first",
    }
    assert h.delete(f"/c/bank/{bank}/content/{cid}").json() == {"deleted": 1}
    assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {}
    assert h.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {"matches": []}
    assert h.delete(f"/c/bank/{bank}/content/{cid}").json() == {"deleted": 0}
    # deleting a bank unmatches its hashes at once
    again = h.post(f"/c/bank/{bank}/signal", json={"pdq": pdq}).json()["id"]
    assert again > cid
    h.delete(f"/c/bank/{bank}")
    assert h.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {"matches": []}


def test_disabled_content_and_coin_flip(server):
    h = server.http
    rng = random.Random(2)
    bank = _bank(server)
    pdq = _rand_pdq(rng)
    cid = h.post(f"/c/bank/{bank}/signal", json={"pdq": pdq}).json()["id"]
    q = {"signal_type": "pdq", "signal": pdq}
    assert h.put(f"/c/bank/{bank}/content/{cid}", json={"disable_until_ts": 0}).json()["disable_until_ts"] == 0
    assert h.get("/m/lookup", params=q).json() == {}
    assert h.get("/m/raw_lookup", params=q).json() == {"matches": [cid]}  # raw lookup ignores it, as HMA
    h.put(f"/c/bank/{bank}/content/{cid}", json={"disable_until_ts": int(time.time()) + 3600})
    assert h.get("/m/lookup", params=q).json() == {}
    h.put(f"/c/bank/{bank}/content/{cid}", json={"disable_until_ts": 1})
    assert bank in h.get("/m/lookup", params=q).json()
    for bad in (-1, int(time.time()) + 6 * 365 * 24 * 3600, "soon", True):
        assert h.put(f"/c/bank/{bank}/content/{cid}", json={"disable_until_ts": bad}).status_code == 400
    assert h.put(f"/c/bank/{bank}/content/999999", json={"disable_until_ts": 0}).status_code == 404
    # coin flip: one draw per request from random.Random(seed), bank kept when ratio >= draw
    h.put(f"/c/bank/{bank}", json={"enabled_ratio": 0.5})
    for seed in ("1", "2", "3", "abc", "content-77"):
        expected = random.Random(seed).random() <= 0.5
        got = h.get("/m/lookup", params={**q, "seed": seed}).json()
        assert (bank in got) == expected, seed
    h.put(f"/c/bank/{bank}", json={"enabled_ratio": 0.0})
    assert h.get("/m/lookup", params={**q, "seed": "1"}).json() == {}


def test_uploads_hash_as_python_threatexchange_does(server, samples):
    from threatexchange.signal_type.pdq.signal import PdqSignal

    h = server.http
    photo = Image.open(samples[0]).convert("RGB")
    photo.thumbnail((800, 800))
    files = {
        "jpeg": _png(photo, "JPEG"),
        "palette": _png(photo.convert("P")),
        "cmyk": _png(photo.convert("CMYK"), "JPEG"),
        "grey": _png(photo.convert("L")),
    }
    for label, data in files.items():
        got = h.post("/h/hash", files={"photo": (f"{label}.img", data)}).json()
        assert got == {"pdq": PdqSignal.hash_from_bytes(data)}, label
    # quality below 50: an empty hash from /h/hash, a 400 from lookup, as HMA
    flat = _png(Image.new("RGB", (64, 64), (128, 128, 128)))
    assert h.post("/h/hash", files={"photo": ("flat.png", flat)}).json() == {"pdq": ""}
    r = h.post("/m/lookup", files={"photo": ("flat.png", flat)})
    assert r.status_code == 400 and r.json() == {"message": "invalid signal: invalid PDQ hash"}
    # an uploaded photo is matched by uploading it again
    bank = _bank(server)
    r = h.post(f"/c/bank/{bank}/content", files={"photo": ("a.jpg", files["jpeg"])}, data={"note": "upload"})
    assert r.status_code == 200
    cid, pdq = r.json()["id"], r.json()["signals"]["pdq"]
    found = h.post("/m/lookup", files={"photo": ("b.jpg", files["jpeg"])}).json()
    assert {"bank_content_id": cid, "distance": "0"} in found["pdq"][bank]
    assert h.post("/m/lookup", params={"banks": "OTHER"}, files={"photo": ("b.jpg", files["jpeg"])}).json() == {
        "pdq": {}
    }
    h.put(f"/c/bank/{bank}", json={"enabled_ratio": 0.0})
    assert bank not in h.post("/m/lookup", files={"photo": ("b.jpg", files["jpeg"])}).json()["pdq"]
    bypass = h.post("/m/lookup", params={"bypass_coinflip": "true"}, files={"photo": ("b.jpg", files["jpeg"])})
    assert bank in bypass.json()["pdq"]
    # compare: int distances
    other = _flip(pdq, 40)
    assert h.post("/m/compare", json={"pdq": [pdq, _flip(pdq, 9)]}).json() == {"pdq": [True, {"distance": 9}]}
    assert h.post("/m/compare", json={"pdq": [pdq, other]}).json() == {"pdq": [False, {"distance": 40}]}


def test_variants_on_request(server, samples):
    h = server.http
    photo = Image.open(samples[5]).convert("RGB")
    photo.thumbnail((640, 640))
    bank = _bank(server)
    cid = h.post(f"/c/bank/{bank}/content", files={"photo": ("a.jpg", _png(photo, "JPEG"))}).json()["id"]
    rotated = _png(photo.transpose(Image.Transpose.ROTATE_90), "JPEG")
    boxed = Image.new("RGB", (photo.width, photo.height * 2), (0, 0, 0))
    boxed.paste(photo, (0, photo.height // 2))
    letterboxed = _png(boxed, "JPEG")
    for label, data in (("rotated", rotated), ("letterboxed", letterboxed)):
        # HMA's answer (the default) misses both; variants=true finds them, saying how and how surely
        assert bank not in h.post("/m/lookup", files={"photo": ("q.jpg", data)}).json()["pdq"], label
        got = h.post("/m/lookup", params={"variants": "true"}, files={"photo": ("q.jpg", data)}).json()
        match = got["pdq"][bank][0]
        assert match["bank_content_id"] == cid and isinstance(match["distance"], str), label
        assert match["variant"].startswith("dihedral:" if label == "rotated" else "query:"), match
        assert 0 < match["false_match_rate"] <= 1e-6, match
    same = h.post("/m/lookup", params={"variants": "true"}, files={"photo": ("q.jpg", _png(photo, "JPEG"))}).json()
    assert same["pdq"][bank][0]["variant"] == "plain"
    r = h.post("/m/lookup", params={"variants": "true"}, files={"video": ("q.mp4", b"not a video")})
    assert r.status_code == 400 and set(r.json()) == {"message"}


def test_video_md5_is_exact(server, tiny_video):
    import hashlib

    h = server.http
    data = tiny_video.read_bytes()
    md5_only = h.post("/h/hash", params={"types": "video_md5"}, files={"video": ("clip.mp4", data)}).json()
    assert md5_only == {"video_md5": hashlib.md5(data).hexdigest()}
    bank = _bank(server)
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    cid = h.post(f"/c/bank/{bank}/signal", json={"video_md5": md5.upper()}).json()["id"]  # normalised, as TE
    got = h.get("/m/lookup", params={"signal_type": "video_md5", "signal": md5}).json()
    assert got == {bank: [{"bank_content_id": cid, "distance": "0"}]}
    assert h.get("/m/lookup", params={"signal_type": "video_md5", "signal": "0" * 32}).json() == {}


def test_vpdq_is_served(server, tiny_video):
    from unleak.signals.media import Media
    from unleak.signals.vpdq import VpdqSignal, parse_frames

    h = server.http
    data = tiny_video.read_bytes()
    hashed = h.post("/h/hash", files={"video": ("clip.mp4", data)}).json()
    expected = VpdqSignal.compute(Media(path=tiny_video), fast=True).value
    assert set(hashed) == {"video_md5", "vpdq"} and hashed["vpdq"] == expected
    bank = _bank(server)
    r = h.post(f"/c/bank/{bank}/content", files={"video": ("clip.mp4", data)})
    assert r.status_code == 200 and set(r.json()["signals"]) == {"video_md5", "vpdq"}
    cid = r.json()["id"]
    # a lookup by the vPDQ value, and by uploading the same video: matched by vPDQ's rule
    got = h.get("/m/lookup", params={"signal_type": "vpdq", "signal": hashed["vpdq"]}).json()
    assert got == {bank: [{"bank_content_id": cid, "distance": "0"}]}
    upload = h.post("/m/lookup", files={"video": ("again.mp4", data)}).json()
    assert upload["vpdq"][bank] == [{"bank_content_id": cid, "distance": "0"}]
    # a video sharing a fifth of the frames is not a match (80% of the query's frames must be)
    frames = parse_frames(hashed["vpdq"])
    other = json.dumps([str(f) for f in frames[:1]] + [f"{'0' * 63}{i},100,{i}.0" for i in range(1, 5)])
    assert h.get("/m/lookup", params={"signal_type": "vpdq", "signal": other}).json() == {}
    assert h.post("/m/compare", json={"vpdq": [hashed["vpdq"], hashed["vpdq"]]}).json() == {
        "vpdq": [True, {"distance": 0}]
    }
    for bad in ("not json", "[]", '["zz,100,0.0"]', "7"):
        r = h.get("/m/lookup", params={"signal_type": "vpdq", "signal": bad})
        assert r.status_code == 400 and r.json() == {"message": "invalid signal: invalid vPDQ hash"}, bad
    assert h.delete(f"/c/bank/{bank}/content/{cid}").json() == {"deleted": 1}
    assert h.get("/m/lookup", params={"signal_type": "vpdq", "signal": hashed["vpdq"]}).json() == {}


class _Media(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_url_hashing_through_the_guarded_fetcher(server, samples):
    from threatexchange.signal_type.pdq.signal import PdqSignal

    photo = Image.open(samples[1]).convert("RGB")
    photo.thumbnail((600, 600))
    _Media.body = _png(photo, "JPEG")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Media)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/photo.jpg"
        h = server.http
        expected = PdqSignal.hash_from_bytes(_Media.body)
        assert h.get("/h/hash", params={"url": url}).json() == {"pdq": expected}
        bank = _bank(server)
        r = h.post(f"/c/bank/{bank}/content", params={"url": url, "content_type": "photo"})
        assert r.status_code == 200
        cid = r.json()["id"]
        assert h.get(f"/c/bank/{bank}/content/{cid}").json()["original_media_uri"] == url
        assert h.get("/m/lookup", params={"url": url}).json()["pdq"][bank] == [
            {"bank_content_id": cid, "distance": "0"}
        ]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_bad_input_is_a_4xx_message_and_stores_nothing(server, samples):
    h = server.http
    bank = _bank(server)
    before = _sizes(server)
    pdq = "a" * 64
    big = np.random.default_rng(0).integers(0, 256, (MAX_FILE + 10,), dtype=np.uint8).tobytes()
    jpeg = _png(Image.open(samples[0]).convert("RGB"), "JPEG")
    bomb = _png(Image.new("L", (3000, 3000)))  # 9 MP, tiny file: over the 4 MP limit of this server
    floats = _png(Image.open(samples[0]).convert("F"), "TIFF")  # python-threatexchange reads no PDQ of it
    cases = [
        ("post", f"/c/bank/{bank}/signal", {"json": {"pdq": pdq.upper()}}, 400),
        ("post", f"/c/bank/{bank}/signal", {"json": {"pdq": pdq[:-1]}}, 400),
        ("post", f"/c/bank/{bank}/signal", {"json": {"pdq": 12345}}, 400),
        ("post", f"/c/bank/{bank}/signal", {"json": {"sha1": pdq}}, 400),
        ("post", f"/c/bank/{bank}/signal", {"json": {}}, 400),
        ("post", f"/c/bank/{bank}/signal", {"json": ["pdq", pdq]}, 400),
        (
            "post",
            f"/c/bank/{bank}/signal",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("post", f"/c/bank/{bank}/signal", {"json": {"pdq": pdq, "note": "x" * 300}}, 400),
        ("post", "/c/bank/NO_SUCH/signal", {"json": {"pdq": pdq}}, 404),
        ("post", "/c/bank/lower/signal", {"json": {"pdq": pdq}}, 404),
        ("post", f"/c/bank/{bank}/content", {"files": {"foto": ("a.jpg", jpeg)}}, 400),
        ("post", f"/c/bank/{bank}/content", {"files": {"photo": ("a.jpg", b"")}}, 400),
        ("post", f"/c/bank/{bank}/content", {"files": {"photo": ("a.jpg", jpeg[: len(jpeg) // 2])}}, 400),
        ("post", f"/c/bank/{bank}/content", {"files": {"photo": ("a.txt", b"hello, not an image")}}, 400),
        ("post", f"/c/bank/{bank}/content", {"files": {"photo": ("big.jpg", big)}}, 413),
        ("post", f"/c/bank/{bank}/content", {"files": {"photo": ("bomb.png", bomb)}}, 413),
        ("post", f"/c/bank/{bank}/content", {"files": {"video": ("a.jpg", jpeg)}}, 400),
        (
            "post",
            f"/c/bank/{bank}/content",
            {"files": {"photo": ("a.jpg", jpeg)}, "data": {"metadata": json.dumps({"bad_key": 1})}},
            400,
        ),
        ("post", f"/c/bank/{bank}/content", {"data": {"photo": "not a file"}}, 400),
        ("post", f"/c/bank/{bank}/content", {"params": {"url": "http://10.0.0.1/a.jpg"}}, 400),
        ("post", f"/c/bank/{bank}/content", {"params": {"url": "http://169.254.169.254/latest"}}, 400),
        ("post", f"/c/bank/{bank}/content", {"params": {"url": "file:///etc/passwd"}}, 400),
        ("get", "/h/hash", {"params": {"url": "http://192.168.1.1/x.jpg"}}, 400),
        ("get", "/h/hash", {"params": {"url": "http://[::ffff:10.0.0.1]/x.jpg"}}, 400),
        ("post", "/h/hash", {"files": {"photo": ("a.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 50)}}, 400),
        ("post", "/h/hash", {"files": {"photo": ("a.jpg", jpeg), "video": ("b.jpg", jpeg)}}, 400),
        ("post", "/h/hash", {"content": b"raw bytes", "headers": {"content-type": "image/jpeg"}}, 400),
        ("post", "/h/hash", {"files": {"photo": ("f.tif", floats)}}, 400),
        ("post", f"/c/bank/{bank}/content", {"files": {"photo": ("f.tif", floats)}}, 400),
        ("get", "/m/lookup", {"params": {"signal_type": "pdq", "signal": pdq.upper()}}, 400),
        ("get", "/m/lookup", {"params": {"signal_type": "sha1", "signal": pdq}}, 400),
        ("get", "/m/lookup", {"params": {"signal_type": "pdq"}}, 400),
        ("get", "/m/raw_lookup", {"params": {"signal_type": "pdq", "signal": "zz"}}, 400),
        ("get", "/m/raw_lookup", {"params": {"signal": pdq}}, 400),
        ("post", "/m/compare", {"json": {"pdq": [pdq]}}, 400),
        ("post", "/m/compare", {"json": {"pdq": pdq}}, 400),
        ("post", "/m/compare", {"json": [pdq, pdq]}, 400),
        ("post", "/m/compare", {"json": {"pdq": [pdq, "zz"]}}, 400),
        ("post", "/c/banks", {"json": ["NAME"]}, 400),
        ("post", "/c/banks", {"json": {"name": "OK_NAME_X", "enabled_ratio": "high"}}, 400),
        ("get", f"/c/bank/{bank}/content/notanumber", {}, 400),
    ]
    for method, path, kwargs, status in cases:
        r = getattr(h, method)(path, **kwargs)
        assert r.status_code == status, (path, kwargs.get("json") or kwargs.get("params"), r.status_code, r.text)
        body = r.json()
        assert set(body) == {"message"} and isinstance(body["message"], str) and body["message"], r.text
    assert _sizes(server) == before
    assert h.get("/c/bank/OK_NAME_X").status_code == 404


def test_hma_client_script_works_unchanged(server, samples):
    bank = "CLIENT_" + uuid.uuid4().hex[:8].upper()
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "hma_client.py"), server.base, str(samples[2]), bank],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    match = [{"bank_content_id": got["id"], "distance": "0"}]
    assert got["lookup"][bank] == match
    assert got["lookup_upload"]["pdq"][bank] == match


def _within_a_second(lookup, bank: str) -> dict:
    """The lookup's answer once it names `bank`, polled for at most a second (the promise for a
    change made by another process), else its last answer."""
    deadline = time.monotonic() + 1.0
    while True:
        found = lookup()
        if bank in found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_publish_a_case_and_load_a_te_list(server, samples, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("UNLEAK_DB", server.db_url)
    case = "case-" + uuid.uuid4().hex[:6]
    assert cli("protect", samples[3], samples[4], "--case", case)[0] == 0
    h = server.http
    # nothing of a case is served until its owner publishes it
    pdq = h.post("/h/hash", files={"photo": ("p.png", samples[3].read_bytes())}).json()["pdq"]
    bank = "PUB_" + uuid.uuid4().hex[:6].upper()
    assert bank not in h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json()
    code, out, err = cli("serve", "publish", case, "--as", bank)
    assert code == 0 and "Published 2 item(s)" in out, out + err
    # another process's add: matched within a second (on PostgreSQL it arrives by NOTIFY)
    found = _within_a_second(lambda: h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json(), bank)
    assert found[bank] and found[bank][0]["distance"] == "0"
    assert "Published 0 item(s)" in cli("serve", "publish", case, "--as", bank)[1]  # again: nothing new
    matches = h.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq, "banks": bank}).json()["matches"]
    assert len(matches) == 1
    with pytest.raises(Exception, match="UPPER_WITH_UNDERSCORE"):
        cli("serve", "publish", case, "--as", "lower")
    # a te list, as `unleak bank export --format te` writes it
    te = tmp_path / "list.te"
    assert cli("bank", "export", te, "--format", "te", "--case", case)[0] == 0
    te_bank = "TE_" + uuid.uuid4().hex[:6].upper()
    code, out, err = cli("serve", "load", te_bank, te)
    assert code == 0 and "Loaded 2 hash(es)" in out, out + err
    assert te_bank in _within_a_second(
        lambda: h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json(), te_bank
    )


def test_published_case_matches_threatexchange_readings_and_bank_side_crops(
    server, samples, tmp_path, cli, monkeypatch
):
    from threatexchange.signal_type.pdq.signal import PdqSignal

    monkeypatch.setenv("UNLEAK_DB", server.db_url)
    h = server.http
    photo = Image.open(samples[3]).convert("RGB")  # coffee, 600x400: its 1:1 centre crop is stored
    palette, cmyk = tmp_path / "palette.png", tmp_path / "cmyk.jpg"
    palette.write_bytes(_png(Image.open(samples[2]).convert("RGB").convert("P")))  # chelsea
    cmyk.write_bytes(_png(Image.open(samples[9]).convert("RGB").convert("CMYK"), "JPEG"))  # hubble
    original = tmp_path / "original.png"
    original.write_bytes(_png(photo))
    case = "case-" + uuid.uuid4().hex[:6]
    assert cli("protect", palette, cmyk, original, "--case", case)[0] == 0
    bank = "PUB_" + uuid.uuid4().hex[:6].upper()
    code, out, err = cli("serve", "publish", case, "--as", bank)
    assert code == 0 and "Published 3 item(s)" in out, out + err
    # a platform hashing these files as python-threatexchange (HMA) does finds them with a plain lookup
    for path in (palette, cmyk):
        te = PdqSignal.hash_from_bytes(path.read_bytes())
        found = _within_a_second(
            lambda te=te: h.get("/m/lookup", params={"signal_type": "pdq", "signal": te}).json(), bank
        )
        assert bank in found and any(m["distance"] == "0" for m in found[bank]), (path.name, found)
        assert bank in h.post("/m/lookup", files={"photo": (path.name, path.read_bytes())}).json()["pdq"]
    # a square crop of the original: HMA's answer misses it, variants=true finds it by the bank's crop
    side = min(photo.size)
    x0 = (photo.width - side) // 2
    cropped = _png(photo.crop((x0, 0, x0 + side, side)), "JPEG")
    assert bank not in h.post("/m/lookup", files={"photo": ("q.jpg", cropped)}).json()["pdq"]
    got = h.post("/m/lookup", params={"variants": "true"}, files={"photo": ("q.jpg", cropped)}).json()["pdq"]
    assert bank in got, got
    match = got[bank][0]
    assert match["variant"] == "bank:crop:1x1" and isinstance(match["distance"], str), match
    assert 0 < match["false_match_rate"] <= 1e-6, match
    # the crops are not HMA signals: not listed with the content, not counted in the index
    content = h.get(f"/c/bank/{bank}/content/{match['bank_content_id']}", params={"include_signals": True}).json()
    assert set(content["signals"]) == {"pdq"}, content


def test_factory_reset_refuses_a_store_with_sightings(server):
    """Runs last: it empties the platform banks of this server."""
    from sqlalchemy import delete

    from unleak.store import open_store
    from unleak.store.models import BankItem, Sighting

    store = open_store(server.db_url)
    try:
        with store.session() as s:
            case = store.case(s, "victim-" + uuid.uuid4().hex[:6], create=True)
            item = BankItem(case_id=case.id, kind="hash")
            s.add(item)
            s.flush()
            s.add(
                Sighting(
                    case_id=case.id, bank_item_id=item.id, url_key="k", media_url="https://x/", signal="pdq", distance=0
                )
            )
        h = server.http
        r = h.post("/dev/factory_reset", follow_redirects=False)
        assert r.status_code == 403 and "sightings or evidence" in r.json()["message"]
        assert h.get("/c/banks").json() != []  # nothing was reset
        with store.session() as s:
            s.execute(delete(Sighting))
        assert h.post("/dev/factory_reset", follow_redirects=False).status_code == 302
        assert h.get("/c/banks").json() == []
        bank = _bank(server)
        pdq = "b" * 64
        assert h.post(f"/c/bank/{bank}/signal", json={"pdq": pdq}).json()["id"] == 1  # ids count from 1 again
        assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {
            bank: [{"bank_content_id": 1, "distance": "0"}]
        }
    finally:
        store.close()


def test_roles_and_dev(tmp_path, cli, monkeypatch):
    import uvicorn

    from unleak.serve import ServeConfig, create_app
    from unleak.store import open_store

    with pytest.raises(Exception, match="bad --host"):
        cli("serve", "--host", "no such host")
    # an internet-facing instance: matcher only (a real uvicorn, in a thread of this process)
    store = open_store(f"sqlite:///{tmp_path / 'roles.db'}")
    app = create_app(ServeConfig(roles=("matcher",)), store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as h:
            assert h.get("/status").text == "I-AM-ALIVE"
            assert h.get("/c/banks").status_code == 404
            assert h.post("/h/hash", files={"photo": ("a", b"x")}).status_code == 404
            assert h.post("/dev/factory_reset").status_code == 404  # only with --dev
            r = h.post("/m/lookup", files={"photo": ("a", b"x")})
            assert r.status_code == 403 and r.json() == {"message": "Hashing is disabled, missing role"}
            assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": "c" * 64}).json() == {}
            assert "/c/banks" not in h.get("/site-map").json()
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


@pytest.mark.slow  # two server processes start (each imports and warms up the index): ~50 s here
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_workers_see_each_others_changes(tmp_path, kind):
    from test_serve_auth import _db

    urls = _db(kind, tmp_path)
    srv = Server(next(urls), tmp_path, "--workers", "2")
    try:
        rng = random.Random(5)
        bank = _bank(srv)
        for _ in range(3):
            pdq = _rand_pdq(rng)
            cid = srv.http.post(f"/c/bank/{bank}/signal", json={"pdq": pdq}).json()["id"]
            # fresh connections, so both workers answer some of them
            time.sleep(1.0)  # the promise: every worker matches it within a second (PostgreSQL: by NOTIFY)
            for _ in range(8):
                got = httpx.get(srv.base + "/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json()
                assert got == {bank: [{"bank_content_id": cid, "distance": "0"}]}
            assert srv.http.delete(f"/c/bank/{bank}/content/{cid}").json() == {"deleted": 1}
            time.sleep(1.0)
            for _ in range(8):
                assert httpx.get(srv.base + "/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {}
    finally:
        srv.http.close()
        srv.stop()
        next(urls, None)  # drops the PostgreSQL schema
