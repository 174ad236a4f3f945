"""A bundle rewritten without the case's secret key: every forgery of tests/forge.py fails
`evidence verify --key`, while the checks that need nothing from the verifier still pass it (which
is why the key, a noted head or a trusted authority must be held); `--tsa-cert` needs a timestamp
of the export record; a case from before keys gets one and its earlier records are reported as
unsigned; scans and watches timestamp the head after each run."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from forge import Forgery
from test_evidence_timestamp import LocalTSA
from unleak.errors import UnleakError
from unleak.evidence import signing
from unleak.evidence.capture import capture_sighting
from unleak.evidence.export import export_bundle
from unleak.evidence.log import append_record, canonical_json, sha256_hex, verify_chain
from unleak.evidence.sightings import record_sighting
from unleak.evidence.verify import verify_bundle
from unleak.net.fetch import FetchResult
from unleak.store import open_store
from unleak.store.models import BankItem, LogRecord

pytest.importorskip("rfc3161_client")
LOCAL = ["127.0.0.1/32"]


def _png(seed: int) -> bytes:
    img = Image.effect_noise((48, 48), 20 + seed).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _fetched(url: str, body: bytes, ctype: str) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        reason="OK",
        http_version="HTTP/1.1",
        headers=[("Content-Type", ctype), ("Content-Length", str(len(body)))],
        request_headers=[("User-Agent", "unleak-test")],
        raw=body,
        body=body,
        ip="203.0.113.7",
        port=443,
        fetched_at=datetime.now(UTC),
        elapsed=0.01,
    )


def make_case(store, name: str, n: int = 3) -> int:
    """A case with n sightings, each captured (page and media as fetched), as a scan records them."""
    with store.session() as s:
        case_id = store.case(s, name, create=True).id
        items = [BankItem(case_id=case_id, kind="hash", label=f"private {i}", source="import") for i in range(n)]
        s.add_all(items)
        s.flush()
        append_record(s, case_id, "scan_started", {"source_id": 1})
        for i, item in enumerate(items):
            page_url, media_url = f"https://leaks.example/post/{i}", f"https://cdn.leaks.example/{i}.png"
            media = _fetched(media_url, _png(i), "image/png")
            page = _fetched(page_url, f'<html><img src="{media_url}"></html>'.encode(), "text/html")
            change = record_sighting(
                s,
                case_id,
                bank_id=item.id,
                media_url=media_url,
                page_url=page_url,
                signal="pdq",
                distance=6,
                media_sha256=sha256_hex(media.body),
                uploader=f"@leaker{i}",
            )
            capture_sighting(s, change.sighting, media, page, match={"signal": "pdq", "distance": 6})
        append_record(s, case_id, "scan", {"source_id": 1, "sightings": n})
    return case_id


@pytest.fixture(scope="module")
def tsa():
    authority = LocalTSA()
    yield authority
    authority.close()


@pytest.fixture(scope="module")
def signed(tmp_path_factory, tsa):
    """A genuine bundle of a case with 3 captured sightings, timestamped at export; its key's
    fingerprint (what the lawyer was given) and the timestamp authority's certificate."""
    root = tmp_path_factory.mktemp("signed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNLEAK_HOME", str(root / "home"))
        store = open_store(f"sqlite:///{root / 'unleak.db'}")
        case_id = make_case(store, "forge-me")
        result = export_bundle(store, "forge-me", root / "bundle", pdf=False, tsa=(tsa.url, tsa.root_pem, LOCAL))
        key_file = signing.key_path(case_id).read_bytes()
        store.close()
    return root / "bundle", result.key_fingerprint, result.head_hash, key_file


def _copy(bundle: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(bundle, out)
    return out


def _sighting_ids(bundle: Path) -> list[int]:
    return [s["id"] for s in json.loads((bundle / "sightings.json").read_text())]


def _seq_of(bundle: Path, action: str) -> list[int]:
    recs = [json.loads(json.loads(line)["record"]) for line in (bundle / "log.jsonl").read_text().splitlines()]
    return [r["seq"] for r in recs if r["action"] == action]


def test_the_genuine_bundle_verifies_and_says_what_each_thing_held_proves(signed, tsa):
    bundle, fp, head, _ = signed
    check = verify_bundle(bundle, [tsa.root_pem], keys=[fp], heads=[head])
    assert check.ok, check.problem
    assert check.key_fingerprint == fp and check.key_held and check.signed_from == 1
    assert check.timestamps == 1 and check.covered_seq == check.records - 1  # the export record
    proofs = "\n".join(check.proofs)
    assert "anyone can re-chain" in proofs  # what the chain alone shows
    assert f"key {fp} (which you hold) signed records 1-" in proofs and "does not prove when" in proofs
    assert "existed then" in proofs and f"noted head {head[:16]}" in proofs
    alone = verify_bundle(bundle)
    assert alone.ok and not alone.key_held and "proves nothing on its own" in "\n".join(alone.proofs)
    # the public key is in the bundle; the private key in no file of it
    assert (bundle / "public_key.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    private = signed[3]
    assert b"PRIVATE KEY" in private
    for f in bundle.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert b"PRIVATE KEY" not in data and private[30:80] not in data, f


FORGERIES = {
    "delete a sighting, its capture record and its WARC": lambda f: f.delete_sighting(_sighting_ids(f.path)[1]),
    "swap two records": lambda f: f.swap(*[r["seq"] for r in f.records if r["action"] == "sighting"][:2]),
    "forge a WARC's content and rewrite its digests": lambda f: f.forge_warc(_sighting_ids(f.path)[0], _png(99)),
    "add a made-up sighting against an innocent URL and uploader": lambda f: f.add_sighting(
        "https://innocent.example/holiday.png", "https://innocent.example/blog", "@innocent", _png(7)
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forgery_signed_with_the_forgers_own_key_fails_verify_key(forgery, signed, tmp_path):
    bundle, fp, _head, _ = signed
    bad = _copy(bundle, tmp_path)
    forged = Forgery(bad)
    FORGERIES[forgery](forged)
    forged.save(sign="own")
    # Without anything held by the verifier, every check still passes: that is why the key matters.
    assert verify_bundle(bad).ok, verify_bundle(bad).problem
    check = verify_bundle(bad, keys=[fp])
    assert not check.ok and f"never introduces the key you hold ({fp})" in check.problem, check.problem


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forgery_that_reuses_the_cases_signatures_fails_where_it_changed(forgery, signed, tmp_path):
    """Without the private key, the real signatures stay valid only on records the forger left as
    they were: verification stops at the first changed one (even without --key, which is why a
    forger signs with a key of their own, above)."""
    bundle, fp, _head, _ = signed
    bad = _copy(bundle, tmp_path)
    before = [json.loads(line)["hash"] for line in (bundle / "log.jsonl").read_text().splitlines()]
    forged = Forgery(bad)
    FORGERIES[forgery](forged)
    forged.save(sign="keep")
    after = [json.loads(line)["hash"] for line in (bad / "log.jsonl").read_text().splitlines()]
    first_changed = next(i for i, (a, b) in enumerate(zip(before, after, strict=False), 1) if a != b)
    check = verify_bundle(bad, keys=[fp])
    assert not check.ok and f"record {first_changed} (" in check.problem, check.problem
    assert "signature does not verify" in check.problem or "is not signed" in check.problem
    assert not verify_bundle(bad).ok


def test_a_forgery_downgraded_to_an_unsigned_bundle_fails_verify_key(signed, tmp_path):
    bundle, fp, _head, _ = signed
    bad = _copy(bundle, tmp_path)
    forged = Forgery(bad)
    FORGERIES["add a made-up sighting against an innocent URL and uploader"](forged)
    forged.save(sign="strip")
    assert verify_bundle(bad).ok  # a format-1 bundle, unsigned: still read, as before
    check = verify_bundle(bad, keys=[fp])
    assert not check.ok and "never introduces the key you hold" in check.problem


def test_tsa_cert_fails_a_forgery_whose_timestamps_were_dropped(signed, tsa, tmp_path, cli):
    bundle, fp, _head, _ = signed
    bad = _copy(bundle, tmp_path)
    forged = Forgery(bad)
    forged.delete_sighting(_sighting_ids(bad)[0])
    forged.save(sign="own")
    assert verify_bundle(bad).ok and verify_bundle(bad).timestamps == 0
    cert = tmp_path / "root.pem"
    cert.write_bytes(tsa.root_pem)
    code, _out, err = cli("evidence", "verify", bad, "--tsa-cert", cert)
    err = " ".join(err.split())
    assert code == 1 and "no timestamp covers the export record" in err and "(it has none)" in err, err
    code, _out, err = cli("evidence", "verify", bundle, "--tsa-cert", cert, "--key", fp)
    assert code == 0, err


def test_a_noted_head_is_checked(signed, tmp_path, cli):
    bundle, fp, head, _ = signed
    code, out, err = cli("evidence", "verify", bundle, "--head", head, "--key", fp)
    assert code == 0 and "unchanged since it was noted" in " ".join(out.split()), err
    bad = _copy(bundle, tmp_path)
    forged = Forgery(bad)
    forged.delete_sighting(_sighting_ids(bad)[2])
    forged.save(sign="own")
    code, _out, err = cli("evidence", "verify", bad, "--head", head)
    assert code == 1 and "is not a record of this log" in " ".join(err.split()), err
    with pytest.raises(UnleakError, match="is not a log head"):  # one line from `unleak`, not a traceback
        cli("evidence", "verify", bundle, "--head", "nonsense")


def test_verify_key_accepts_a_public_key_file_and_refuses_garbage_in_one_line(signed, tmp_path, cli):
    bundle, fp, _head, _ = signed
    code, out, err = cli("evidence", "verify", bundle, "--key", bundle / "public_key.pem", "--json")
    check = json.loads(out)
    assert code == 0 and check["key_held"] and check["key_fingerprint"] == fp and check["signed_from"] == 1
    assert check["format_version"] == 3 and check["timestamp_covers"] == check["records"] - 1
    (tmp_path / "fp.txt").write_text(f"the case's key: {fp}\n")
    assert cli("evidence", "verify", bundle, "--key", tmp_path / "fp.txt")[0] == 0
    with pytest.raises(UnleakError, match="neither a key fingerprint nor a readable file"):
        cli("evidence", "verify", bundle, "--key", "ed25519:abc")
    other = "ed25519:" + "ab" * 32
    code, _out, err = cli("evidence", "verify", bundle, "--key", other)
    assert code == 1 and f"never introduces the key you hold ({other})" in " ".join(err.split())


def test_an_unsigned_export_record_fails(signed, tmp_path):
    """Only the export record's signature removed (and the rest left as it was)."""
    bundle, fp, _head, _ = signed
    bad = _copy(bundle, tmp_path)
    lines = (bad / "log.jsonl").read_text().splitlines()
    export_seq = json.loads((bad / "bundle.json").read_text())["export_seq"]
    outer = json.loads(lines[export_seq - 1])
    outer["sig"] = None
    lines[export_seq - 1] = json.dumps(outer, ensure_ascii=False)
    (bad / "log.jsonl").write_text("\n".join(lines) + "\n")
    for keys in (None, [fp]):
        check = verify_bundle(bad, keys=keys)
        assert not check.ok and f"record {export_seq} (export) is not signed" in check.problem, check.problem


def test_the_key_is_made_at_case_creation_shown_and_kept_private(cli, _isolated_home):
    code, out, err = cli("case", "new", "keyed")
    assert code == 0, err
    fp = next(w for w in out.split() if w.startswith("ed25519:"))
    assert signing.FINGERPRINT_RE.match(fp)
    code, out, _ = cli("case", "show", "keyed", "--json")
    shown = json.loads(out)
    assert shown["key_fingerprint"] == fp and shown["key_since"] == 1 and shown["log_records"] == 2
    code, out, _ = cli("case", "show", "keyed")
    assert fp in "".join(out.split())
    key = next((_isolated_home / "evidence").glob("*/signing.key"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and (key.parent / "case.key").exists() is False
    assert fp == signing.fingerprint(signing.public_raw(signing.case_signing_key(int(key.parent.name))))
    code, out, err = cli("evidence", "log", "--case", "keyed", "--json", "--last", "0")
    assert code == 0 and [json.loads(line)["record"]["action"] for line in out.splitlines()] == [
        "signing_key",
        "case_created",
    ]
    assert key.read_text().split("\n")[1] not in out  # the private key is never logged


def test_a_case_from_before_keys_gets_one_and_its_earlier_records_are_reported_unsigned(store, tmp_path):
    """Records written before the upgrade carry no signature: the key's introduction comes next, and
    verify reports the records before it as unsigned, not as a failure."""
    with store.session() as s:  # an old log, as the code before keys wrote it: no key, no signatures
        case_id = store.case(s, "old", create=True).id
        prev = "0" * 64
        for seq, action in enumerate(["case_created", "source_added", "scan_started", "scan"], 1):
            body = canonical_json(
                {"action": action, "case": "old", "data": {"n": seq}, "prev": prev, "seq": seq, "time": "t", "v": 1}
            )
            s.add(LogRecord(case_id=case_id, seq=seq, action=action, body=body, prev_hash=prev, hash=sha256_hex(body)))
            prev = sha256_hex(body)
    assert not signing.key_path(case_id).exists()
    with store.session() as s:
        check = verify_chain(s, case_id)
        assert check.ok and check.key_fingerprint is None
        rec = append_record(s, case_id, "note", {})
        assert rec.seq == 6
        intro = s.query(LogRecord).filter_by(case_id=case_id, seq=5).one()
        assert intro.action == "signing_key" and json.loads(intro.body)["data"]["earlier_records_unsigned"]
        check = verify_chain(s, case_id)
        assert check.ok and check.signed_from == 5 and "records 1-4: unsigned, before the key" in str(check)
    fp = signing.case_fingerprint(case_id)
    export_bundle(store, "old", tmp_path / "b", pdf=False)
    check = verify_bundle(tmp_path / "b", keys=[fp])
    assert check.ok, check.problem
    assert check.signed_from == 5 and "records 1-4 are unsigned, before record 5" in "\n".join(check.proofs)


def test_the_migration_adds_the_signature_column_to_an_existing_database(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from unleak.store.db import MIGRATIONS

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0102_value_index")
    assert "signature" not in {c["name"] for c in inspect(store.engine).get_columns("log_records")}
    store.close()
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    assert "signature" in {c["name"] for c in inspect(store.engine).get_columns("log_records")}
    store.close()


def test_a_replaced_key_file_is_introduced_and_the_old_key_alone_no_longer_verifies(store, tmp_path):
    case_id = make_case(store, "rekey", n=1)
    old = signing.case_fingerprint(case_id)
    signing.key_path(case_id).unlink()  # lost (or restored from an old backup without it)
    with store.session() as s:
        append_record(s, case_id, "note", {})
        check = verify_chain(s, case_id)
    new = signing.case_fingerprint(case_id)
    assert check.ok and check.key_fingerprint == new != old
    with store.session() as s:
        intro = [
            json.loads(r.body)["data"] for r in s.query(LogRecord).filter_by(case_id=case_id, action="signing_key")
        ]
    assert [d["fingerprint"] for d in intro] == [old, new] and intro[1]["replaces"] == old
    export_bundle(store, "rekey", tmp_path / "b", pdf=False)
    check = verify_bundle(tmp_path / "b", keys=[old])
    assert not check.ok and f"signed by key {new}" in check.problem and "not by a key you hold" in check.problem
    assert verify_bundle(tmp_path / "b", keys=[old, new]).ok
    assert verify_bundle(tmp_path / "b", keys=[new]).ok  # records before its introduction: another key's


def test_tsa_cert_needs_a_timestamp_of_the_export_record_not_only_earlier_ones(store, tsa, tmp_path, cli):
    """Timestamps taken during the case date the log up to them; only one covering the export record
    dates the bundle's files."""
    from unleak.evidence.timestamp import timestamp_head

    case_id = make_case(store, "ts-during", n=1)
    with store.session() as s:
        timestamp_head(s, case_id, tsa.url, tsa.root_pem, allow_networks=LOCAL)
    export_bundle(store, "ts-during", tmp_path / "b", pdf=False)
    check = verify_bundle(tmp_path / "b", [tsa.root_pem])
    assert not check.ok and "no timestamp covers the export record" in check.problem
    assert "the last one covers record" in check.problem
    assert verify_bundle(tmp_path / "b").ok  # without --tsa-cert the earlier timestamp is shown, not required


def test_scan_and_watch_timestamp_the_head_after_each_run(cli, tsa, tmp_path, samples):
    cert = tmp_path / "root.pem"
    cert.write_bytes(tsa.root_pem)
    folder = tmp_path / "found"
    folder.mkdir()
    shutil.copy(samples[0], folder / "copy.jpg")
    assert cli("protect", "--case", "tsw", "--no-variants", samples[0])[0] == 0
    assert cli("source", "add", "folder", folder, "--case", "tsw")[0] == 0
    tsa_args = ["--tsa", tsa.url, "--tsa-cert", cert, "--tsa-allow-network", "127.0.0.1/32"]
    code, out, err = cli("scan", "--case", "tsw", "--verify", "off", "--json", *tsa_args)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    stamp = [x for x in lines if x.get("check") == "timestamp"]
    assert len(stamp) == 1 and "unleak test root" in stamp[0]["tsa_subject"]
    code, out, err = cli("watch", "--case", "tsw", "--times", "2", "--every", "0", "--verify", "off", *tsa_args)
    assert code == 0 and out.count("timestamped at") == 2, out + err
    code, out, _ = cli("evidence", "log", "--case", "tsw", "--json", "--last", "0")
    recs = [json.loads(line)["record"] for line in out.splitlines()]
    stamps = [r for r in recs if r["action"] == "timestamp"]
    assert len(stamps) == 3
    for r in stamps:  # each covers the record just before it: the head after that run
        assert r["data"]["of_seq"] == r["seq"] - 1 and recs[r["seq"] - 2]["action"] in ("scan", "removal.check")
    # an authority that fails: the scan's findings are kept, the failure is one line, exit 1
    code, _out, err = cli(
        "scan", "--case", "tsw", "--verify", "off", "--tsa", "http://127.0.0.1:9/tsa", "--tsa-cert", cert
    )
    assert code == 1 and "the log head was not timestamped" in err and "Traceback" not in err


# --- any single change to a signed log fails ---------------------------------------------------------
@pytest.fixture(scope="module")
def small_signed(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNLEAK_HOME", str(root / "home"))
        store = open_store(f"sqlite:///{root / 'unleak.db'}")
        make_case(store, "prop", n=2)
        result = export_bundle(store, "prop", root / "bundle", pdf=False)
        store.close()
    return root / "bundle", result.key_fingerprint


def _rechained(bundle: Path, mutate) -> None:
    forged = Forgery(bundle)
    mutate(forged)
    forged.save(sign="keep")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_change_to_a_signed_log_fails_verification(small_signed, data):
    bundle, fp = small_signed
    with tempfile.TemporaryDirectory() as t:
        bad = Path(t) / "b"
        shutil.copytree(bundle, bad)
        log = (bad / "log.jsonl").read_bytes()
        n = log.count(b"\n")
        kind = data.draw(st.sampled_from(["byte", "edit, re-chained", "drop, re-chained", "swap, re-chained"]))
        if kind == "byte":  # anywhere in the file, as written
            at = data.draw(st.integers(0, len(log) - 1))
            flip = data.draw(st.integers(1, 255))
            (bad / "log.jsonl").write_bytes(log[:at] + bytes([log[at] ^ flip]) + log[at + 1 :])
        elif kind == "edit, re-chained":  # one value of one record, then re-chained, signatures kept
            seq = data.draw(st.integers(1, n - 1))
            field, value = data.draw(
                st.sampled_from(["action", "time", "case", "data"]).flatmap(
                    lambda k: st.tuples(
                        st.just(k),
                        st.text(max_size=8)
                        if k != "data"
                        else st.dictionaries(st.text(max_size=4), st.integers(), min_size=1, max_size=2),
                    )
                )
            )

            def mutate(f: Forgery, seq=seq, field=field, value=value) -> None:
                rec = f.records[seq - 1]
                rec[field] = {**rec["data"], **value} if field == "data" else rec[field] + "x" + value

            _rechained(bad, mutate)
        elif kind == "drop, re-chained":
            seq = data.draw(st.integers(1, n - 1))  # not the export record: the forger needs one
            _rechained(bad, lambda f: f._drop(lambda r, seq=seq: r is not f.records[seq - 1]))
        else:
            a = data.draw(st.integers(1, n - 1))
            b = data.draw(st.integers(1, n - 1).filter(lambda x: x != a))
            _rechained(bad, lambda f: f.swap(a, b))
        check = verify_bundle(bad, keys=[fp])
        assert not check.ok, kind


def test_forge_script_without_changes_leaves_a_verifiable_bundle(signed, tmp_path):
    """The forger's tool itself is faithful: re-chaining an unchanged log keeps every signature valid
    (so the failures above come from the changes, not from the tool)."""
    bundle, fp, _head, _ = signed
    copy = _copy(bundle, tmp_path)
    Forgery(copy).save(sign="keep")
    check = verify_bundle(copy, keys=[fp])
    assert check.ok, check.problem
    assert check.timestamps == 0  # the trailing timestamp was dropped: only --tsa-cert notices
    assert os.path.exists(copy / "public_key.pem")
