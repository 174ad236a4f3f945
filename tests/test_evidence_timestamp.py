"""RFC 3161 timestamps of the log head, from a real timestamp authority started here (OpenSSL's
`ts -reply` behind a small HTTP server on 127.0.0.1), checked online and offline in a bundle."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("rfc3161_client")
if shutil.which("openssl") is None:  # pragma: no cover
    pytest.skip("openssl is needed to run a local timestamp authority", allow_module_level=True)

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from unleak.errors import UnleakError
from unleak.evidence.export import export_bundle
from unleak.evidence.log import append_record, verify_chain
from unleak.evidence.timestamp import timestamp_head
from unleak.evidence.verify import verify_bundle


def _cert(subject, issuer, key, issuer_key, *, ca: bool):
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


class LocalTSA:
    """A timestamp authority: a root CA, a TSA certificate, and `openssl ts -reply` over HTTP."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tsa-"))
        root_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unleak test root")])
        tsa_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unleak test TSA")])
        self.root = _cert(root_name, root_name, root_key, root_key, ca=True)
        tsa = _cert(tsa_name, root_name, tsa_key, root_key, ca=False)
        self.root_pem = self.root.public_bytes(serialization.Encoding.PEM)
        (self.dir / "tsa.crt").write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
        (self.dir / "chain.pem").write_bytes(tsa.public_bytes(serialization.Encoding.PEM) + self.root_pem)
        (self.dir / "tsa.key").write_bytes(
            tsa_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (self.dir / "serial").write_text("01\n")
        d = self.dir
        (d / "tsa.cnf").write_text(f"""[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial = {d}/serial
crypto_device = builtin
signer_cert = {d}/tsa.crt
signer_key = {d}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
        tsa_dir = self.dir
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                outer.requests += 1
                query = self.rfile.read(int(self.headers["Content-Length"]))
                with tempfile.TemporaryDirectory() as t:
                    (Path(t) / "q.tsq").write_bytes(query)
                    subprocess.run(
                        [
                            "openssl",
                            "ts",
                            "-reply",
                            "-config",
                            str(tsa_dir / "tsa.cnf"),
                            "-queryfile",
                            f"{t}/q.tsq",
                            "-out",
                            f"{t}/r.tsr",
                        ],
                        check=True,
                        capture_output=True,
                    )
                    body = (Path(t) / "r.tsr").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def tsa():
    authority = LocalTSA()
    yield authority
    authority.close()


def test_timestamp_the_head_and_verify_offline(store, tsa, tmp_path):
    with store.session() as s:
        case_id = store.case(s, "ts", create=True).id
        for i in range(3):
            append_record(s, case_id, "test", {"i": i})
    with store.session() as s:
        result = timestamp_head(s, case_id, tsa.url, tsa.root_pem, allow_networks=["127.0.0.1/32"])
        assert result.record.action == "timestamp" and "unleak test root" in result.tsa_subject
        assert verify_chain(s, case_id).ok
    bundle = tmp_path / "b"
    export_bundle(store, "ts", bundle, pdf=False)
    check = verify_bundle(bundle)
    assert check.ok and check.timestamps == 1, check
    # a token that does not cover the record it names, or another authority's, is caught
    from unleak.evidence.timestamp import check_timestamp_record

    lines = (bundle / "log.jsonl").read_text().split("\n")
    records = [json.loads(json.loads(line)["record"]) for line in lines if line]
    rec = records[4]  # after the key's introduction and the three records
    assert rec["action"] == "timestamp" and check_timestamp_record(rec, records) is None
    moved = json.loads(json.dumps(rec))
    moved["data"]["of_seq"], moved["data"]["of_hash"] = 3, records[3]["prev"]
    assert "does not verify" in check_timestamp_record(moved, records)
    forged = json.loads(json.dumps(rec))
    forged["data"]["tsa_cert_sha256"] = "0" * 64
    assert "fingerprint" in check_timestamp_record(forged, records)


def test_timestamp_refuses_a_wrong_authority_certificate(store, tsa):
    other = LocalTSA()
    try:
        with store.session() as s:
            case_id = store.case(s, "ts2", create=True).id
            append_record(s, case_id, "test", {})
        with store.session() as s:
            with pytest.raises(UnleakError, match="does not verify"):
                timestamp_head(s, case_id, tsa.url, other.root_pem, allow_networks=["127.0.0.1/32"])
    finally:
        other.close()


def test_timestamp_authority_on_a_private_address_needs_allowing(store, tsa):
    with store.session() as s:
        case_id = store.case(s, "ts3", create=True).id
        append_record(s, case_id, "test", {})
    with store.session() as s:
        with pytest.raises(UnleakError, match="loopback"):
            timestamp_head(s, case_id, tsa.url, tsa.root_pem)


def test_export_with_timestamp_via_cli(cli, tsa, tmp_path):
    assert cli("case", "new", "tsc")[0] == 0
    cert = tmp_path / "root.pem"
    cert.write_bytes(tsa.root_pem)
    code, out, err = cli(
        "evidence",
        "export",
        "tsc",
        "--out",
        tmp_path / "b",
        "--no-pdf",
        "--tsa",
        tsa.url,
        "--tsa-cert",
        cert,
        "--allow-network",
        "127.0.0.1/32",
    )
    assert code == 0, err
    code, out, err = cli("evidence", "verify", tmp_path / "b", "--json")
    check = json.loads(out)
    assert code == 0 and check["timestamps"] == 1 and not check["authorities_trusted"]
    assert "unleak test root" in check["authorities"][0]
    # Pinned to the authority the checker trusts: passes; to another one: fails, naming the signer.
    code, out, err = cli("evidence", "verify", tmp_path / "b", "--tsa-cert", cert)
    assert code == 0 and "unleak test root" in out and "pass --tsa-cert" not in out, out + err
    other = LocalTSA()
    try:
        other_cert = tmp_path / "other.pem"
        other_cert.write_bytes(other.root_pem)
        code, out, err = cli("evidence", "verify", tmp_path / "b", "--tsa-cert", other_cert)
        assert code == 1 and "not a certificate you named as trusted" in " ".join(err.split()), err
    finally:
        other.close()
    code, out, err = cli(
        "evidence",
        "timestamp",
        "--case",
        "tsc",
        "--tsa",
        tsa.url,
        "--tsa-cert",
        cert,
        "--allow-network",
        "127.0.0.1/32",
    )
    assert code == 0 and "timestamped" in out
