"""`local_file` exchanges in `unleak serve`: a te list, as `unleak bank export --format te`
writes it, loaded through HMA's exchange API; reads only inside --exchange-dir."""

from __future__ import annotations

import os

from test_serve_auth import serving


def test_a_te_list_through_the_local_file_exchange(tmp_path, samples, cli, monkeypatch):
    db_url = f"sqlite:///{tmp_path / 'ex.db'}"
    shared = tmp_path / "exchange"
    shared.mkdir()
    monkeypatch.setenv("UNLEAK_DB", db_url)
    assert cli("protect", samples[3], samples[4], "--case", "victim")[0] == 0
    assert cli("bank", "export", shared / "victim.te", "--format", "te", "--case", "victim")[0] == 0
    (tmp_path / "secret.te").write_text("pdq " + "1" * 64 + "\n")
    os.symlink(tmp_path / "secret.te", shared / "link.te")
    with serving(db_url, exchange_dir=str(shared)) as h:
        assert h.get("/c/exchanges/apis").json() == ["local_file"]
        assert h.get("/c/exchanges/api/local_file").json() == {
            "supports_authentification": False,
            "has_set_authentification": False,
        }
        assert h.get("/c/exchanges/api/local_file/schema").json()["config_schema"]["fields"][0]["name"] == "path"
        r = h.post("/c/exchanges", json={"api": "local_file", "bank": "PARTNER", "api_json": {"path": "victim.te"}})
        assert (r.status_code, r.json()) == (201, {"message": "Created successfully"})
        assert h.get("/c/exchanges").json() == ["PARTNER"]
        assert h.get("/c/exchange/PARTNER").json() == {
            "name": "PARTNER",
            "api": "local_file",
            "enabled": True,
            "path": "victim.te",
        }
        status = h.get("/c/exchange/PARTNER/status").json()
        assert status["fetched_items"] == 2 and status["last_fetch_succeeded"] is True
        # the photo is matched through the exchange's bank
        pdq = h.post("/h/hash", files={"photo": ("p.png", samples[3].read_bytes())}).json()["pdq"]
        assert "PARTNER" in h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json()
        # a withdrawal upstream is a withdrawal here, at the next fetch
        lines = (shared / "victim.te").read_text().splitlines()
        kept = [line for line in lines if pdq not in line]
        (shared / "victim.te").write_text("\n".join(kept) + "\n")
        assert h.post("/c/exchange/PARTNER/fetch").json() == {
            "added": 0,
            "removed": len(lines) - len(kept),
            "total": len(kept),
        }
        assert h.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {}
        # reads only inside the exchange directory
        for path in ("../secret.te", "/etc/passwd", "link.te", "", "a\x00b"):
            r = h.post("/c/exchanges", json={"api": "local_file", "bank": "EVIL", "api_json": {"path": path}})
            assert r.status_code in (400, 403) and set(r.json()) == {"message"}, path
        assert h.get("/c/bank/EVIL").status_code == 404  # nothing stored
        for bad, status in (
            ({"api": "ncmec", "bank": "X", "api_json": {"path": "victim.te"}}, 404),
            ({"api": "local_file", "bank": "lower", "api_json": {"path": "victim.te"}}, 400),
            ({"api": "local_file", "bank": "PARTNER", "api_json": {"path": "victim.te"}}, 403),
            ({"api": "local_file", "bank": "X2", "api_json": {"path": "missing.te"}}, 400),
        ):
            assert h.post("/c/exchanges", json=bad).status_code == status, bad
        (shared / "broken.te").write_text("pdq NOTAHASH\n")
        r = h.post("/c/exchanges", json={"api": "local_file", "bank": "BROKEN", "api_json": {"path": "broken.te"}})
        assert r.status_code == 400 and "line 1" in r.json()["message"]
        assert h.get("/c/exchanges").json() == ["PARTNER"]
        # disable, delete (the exchange's bank goes with it, as in HMA)
        assert h.put("/c/exchange/PARTNER", json={"enabled": False}).json()["enabled"] is False
        assert h.post("/c/exchange/PARTNER/fetch").status_code == 403
        assert h.delete("/c/exchange/PARTNER").json() == {"message": "Exchange deleted"}
        assert h.delete("/c/exchange/PARTNER").json() == {"message": "Exchange deleted"}
        assert h.get("/c/bank/PARTNER").status_code == 404


def test_local_file_is_off_without_an_exchange_dir(tmp_path):
    with serving(f"sqlite:///{tmp_path / 'off.db'}") as h:
        r = h.post("/c/exchanges", json={"api": "local_file", "bank": "X", "api_json": {"path": "a.te"}})
        assert r.status_code == 403 and "--exchange-dir" in r.json()["message"]
