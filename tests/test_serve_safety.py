"""Safety for victims' banks in `unleak serve`: negative banks, per-bank thresholds, flood
protection, match feedback, withdrawal; over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import random

from test_serve_auth import _add_key, _auth, _wait_for, serving
from test_serve_auth import db_url_both as db_url  # noqa: F401 - the fixture, on both databases


def _pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(h: str, bits: int) -> str:
    v = int(h, 16)
    for b in range(bits):
        v ^= 1 << (b * 7)
    return f"{v:064x}"


def test_negative_banks_thresholds_flood_feedback(db_url):  # noqa: F811
    rng = random.Random(7)
    with serving(db_url) as h:
        # a plain bank still looks exactly like HMA's; settings show only when set
        assert h.post("/c/banks", json={"name": "NCII"}).json() == {"name": "NCII", "matching_enabled_ratio": 1.0}
        r = h.post("/c/banks", json={"name": "SAFE_LIST", "negative": True})
        assert r.status_code == 201 and r.json()["negative"] is True
        known, common = _pdq(rng), _pdq(rng)
        ncii_id = h.post("/c/bank/NCII/signal", json={"pdq": known}).json()["id"]
        common_id = h.post("/c/bank/NCII/signal", json={"pdq": common}).json()["id"]
        safe_id = h.post("/c/bank/SAFE_LIST/signal", json={"pdq": common}).json()["id"]
        q = {"signal_type": "pdq"}
        assert h.get("/m/lookup", params={**q, "signal": known}).json() == {
            "NCII": [{"bank_content_id": ncii_id, "distance": "0"}]
        }
        # a negative bank's entry vetoes the others' matches, and is never a match itself
        assert h.get("/m/lookup", params={**q, "signal": _flip(common, 3)}).json() == {}
        why = h.get("/m/lookup", params={**q, "signal": _flip(common, 3), "explain": "true"}).json()
        assert why["explain"]["negative_match"] == {"bank": "SAFE_LIST", "bank_content_id": safe_id, "distance": "3"}
        assert common_id in h.get("/m/raw_lookup", params={**q, "signal": common}).json()["matches"]  # raw: all
        # per-bank threshold: stricter than HMA's 31
        r = h.put("/c/bank/NCII", json={"pdq_threshold": 10})
        assert r.json() == {"name": "NCII", "matching_enabled_ratio": 1.0, "pdq_threshold": 10}
        assert h.get("/m/lookup", params={**q, "signal": _flip(known, 10)}).json()["NCII"][0]["distance"] == "10"
        assert h.get("/m/lookup", params={**q, "signal": _flip(known, 11)}).json() == {}
        for bad in ({"pdq_threshold": 32}, {"pdq_threshold": -1}, {"pdq_threshold": "10"}, {"negative": "yes"}):
            assert h.put("/c/bank/NCII", json=bad).status_code == 400, bad
        assert "pdq_threshold" not in h.put("/c/bank/NCII", json={"pdq_threshold": None}).json()
        # flood: an item matching more than 3 distinct uploads in an hour is disabled for review
        r = h.put("/c/bank/NCII", json={"flood": {"max_distinct": 3, "window_s": 3600}})
        assert r.json()["flood"] == {"max_distinct": 3, "window_s": 3600}
        uploads = [_flip(known, n) for n in (1, 2, 3)]
        for u in uploads + uploads:  # the same uploads again count once
            assert "NCII" in h.get("/m/lookup", params={**q, "signal": u}).json()
        assert h.get("/c/flood").json() == []
        assert h.get("/m/lookup", params={**q, "signal": _flip(known, 4)}).json() == {}  # the fourth
        assert h.get("/m/lookup", params={**q, "signal": known}).json() == {}  # disabled for everyone now
        flood = h.get("/c/flood").json()
        assert [(f["bank"], f["bank_content_id"], f["distinct_uploads"], f["state"]) for f in flood] == [
            ("NCII", ncii_id, 4, "pending_review")
        ]
        other = _pdq(rng)
        other_id = h.post("/c/bank/NCII/signal", json={"pdq": other}).json()["id"]
        assert h.get("/m/lookup", params={**q, "signal": other}).json() == {  # unrelated content unaffected
            "NCII": [{"bank_content_id": other_id, "distance": "0"}]
        }
        bad_flood = ({"max_distinct": 0, "window_s": 60}, {"max_distinct": 3}, {"max_distinct": 3, "window_s": 0}, 5)
        for bad in bad_flood:
            assert h.put("/c/bank/NCII", json={"flood": bad}).status_code == 400, bad
        # review: re-enabled by a curator, listed as such
        h.put("/c/bank/NCII", json={"flood": None})
        h.put(f"/c/bank/NCII/content/{ncii_id}", json={"disable_until_ts": 1})
        assert h.get("/c/flood").json()[0]["state"] == "re-enabled"
        assert "NCII" in h.get("/m/lookup", params={**q, "signal": known}).json()
        # feedback from platforms
        fb = {"bank_content_id": other_id, "signal_type": "pdq", "signal": other, "verdict": "false_positive"}
        r = h.post("/m/feedback", json={**fb, "note": "a stock photo"})
        assert r.status_code == 200 and r.json()["bank"] == "NCII"
        h.post("/m/feedback", json={**fb, "bank_content_id": ncii_id, "signal": known, "verdict": "confirmed"})
        got = h.get("/c/feedback", params={"bank": "NCII"}).json()
        assert [(f["bank_content_id"], f["verdict"]) for f in got] == [
            (ncii_id, "confirmed"),
            (other_id, "false_positive"),
        ]
        assert got[1]["note"] == "a stock photo"
        assert h.get("/c/feedback", params={"bank": "SAFE_LIST"}).json() == []
        for bad, status in (
            ({**fb, "verdict": "maybe"}, 400),
            ({**fb, "signal": other.upper()}, 400),
            ({**fb, "bank_content_id": 999_999}, 404),
            ({**fb, "bank_content_id": "1"}, 400),
            ({**fb, "extra": 1}, 400),
            ([fb], 400),
        ):
            r = h.post("/m/feedback", json=bad)
            assert r.status_code == status and set(r.json()) == {"message"}, bad
        # a matcher key limited to another bank cannot give feedback on this one
        token = _add_key(db_url, "partner", "matcher", bank="SAFE_LIST")
        _wait_for(lambda: h.get("/m/index/status").status_code == 401)
        assert h.post("/m/feedback", json=fb, headers=_auth(token)).status_code == 404
        # withdrawal: deleting an item unmatches it at once
        curator = _add_key(db_url, "ops", "curator")
        assert h.delete(f"/c/bank/NCII/content/{other_id}", headers=_auth(curator)).json() == {"deleted": 1}
        matcher = _add_key(db_url, "platform", "matcher")
        assert h.get("/m/lookup", params={**q, "signal": other}, headers=_auth(matcher)).json() == {}
