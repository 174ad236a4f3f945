"""RFC 3161 timestamps of the log's head, from a timestamp authority (TSA) the user configures.

The timestamped message is the 32 raw bytes of the head record's hash (so the token's message
imprint is SHA-256 of those bytes). The TSA's answer is appended to the log as a `timestamp`
record holding the token (base64 DER), the head it covers and the certificate the user trusts
for that TSA, so a bundle can be checked offline. A certificate stored in the log proves nothing
by itself (whoever rewrote the log could bring their own authority), so the checker names the
certificate it trusts (`unleak evidence verify --tsa-cert`), or compares the printed fingerprint
with the one the TSA publishes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from unleak.errors import ConfigError, EvidenceError, InvalidInput, NetworkError, UnleakError, VerificationError
from unleak.evidence.log import append_record, canonical_json, head, sha256_hex
from unleak.store.models import LogRecord

if TYPE_CHECKING:
    from cryptography import x509


def _need():
    try:
        import rfc3161_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "RFC 3161 timestamps need the rfc3161-client package", hint="pip install rfc3161-client"
        ) from None


def _cert_info(pem: bytes) -> tuple[x509.Certificate, str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(pem)
    return cert, cert.subject.rfc4514_string(), cert.fingerprint(hashes.SHA256()).hex()


@dataclass
class TimestampResult:
    record: LogRecord
    gen_time: str
    tsa_subject: str
    tsa_fingerprint: str


def timestamp_head(
    session: Session, case_id: int, tsa_url: str, trusted_cert_pem: bytes, *, allow_networks: Iterable[str] = ()
) -> TimestampResult:
    """Ask the TSA to timestamp the case log's head, check the answer, and log it."""
    _need()
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, VerifierBuilder, decode_timestamp_response

    from unleak.net.fetch import Fetcher
    from unleak.net.guard import NetworkPolicy

    top = head(session, case_id)
    if top is None:
        raise EvidenceError("the case's log is empty: nothing to timestamp")
    message = bytes.fromhex(top.hash)
    request = TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
    with Fetcher(network=NetworkPolicy.allowing(allow_networks)) as f:
        answer = f.post(tsa_url, request.as_bytes(), "application/timestamp-query").body
    try:
        response = decode_timestamp_response(answer)
    except Exception as exc:  # noqa: BLE001 - the RFC 3161 library raises many kinds for bad answers
        raise NetworkError(f"{tsa_url} did not answer with a timestamp ({exc})") from None
    root, subject, fingerprint = _cert_info(trusted_cert_pem)
    try:
        VerifierBuilder.from_request(request).add_root_certificate(root).build().verify_message(response, message)
    except Exception as exc:  # noqa: BLE001 - the RFC 3161 library raises many kinds for bad answers
        raise VerificationError(
            f"the timestamp from {tsa_url} does not verify: {exc}",
            hint="check that --tsa-cert is the authority's certificate",
        ) from None
    gen_time = response.tst_info.gen_time.isoformat()
    rec = append_record(
        session,
        case_id,
        "timestamp",
        {
            "of_seq": top.seq,
            "of_hash": top.hash,
            "tsa": tsa_url,
            "gen_time": gen_time,
            "token": base64.b64encode(answer).decode("ascii"),
            "tsa_cert_pem": trusted_cert_pem.decode("ascii"),
            "tsa_subject": subject,
            "tsa_cert_sha256": fingerprint,
            "imprint": "sha256(bytes.fromhex(of_hash))",
        },
    )
    return TimestampResult(rec, gen_time, subject, fingerprint)


def cert_fingerprint(pem: bytes) -> str:
    """SHA-256 fingerprint (hex) of a PEM certificate, as the log records it."""
    try:
        return _cert_info(pem)[2]
    except ValueError as exc:
        raise InvalidInput(
            f"not a PEM certificate ({exc})", hint="give the authority's certificate in PEM form"
        ) from None


def check_timestamp_record(rec: dict, records: list[dict], trusted: set[str] | None = None) -> str | None:
    """None when the token verifies against the certificate in the record and covers the named
    record's hash (and, with `trusted` fingerprints, that certificate is one of them); otherwise
    what is wrong."""
    data = rec.get("data", {})
    try:
        of_seq, of_hash = int(data["of_seq"]), data["of_hash"]
        token = base64.b64decode(data["token"])
        pem = data["tsa_cert_pem"].encode("ascii")
    except (KeyError, ValueError, TypeError) as exc:
        return f"unreadable ({exc})"
    if not 1 <= of_seq < rec["seq"] or sha256_hex(canonical_json(records[of_seq - 1])) != of_hash:
        return f"it covers record {of_seq}, whose hash is not {of_hash}"
    try:
        _need()
    except UnleakError:
        return "cannot check RFC 3161 tokens without rfc3161-client (pip install rfc3161-client)"
    from rfc3161_client import VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(token)
        root, _subject, fingerprint = _cert_info(pem)
        if fingerprint != data.get("tsa_cert_sha256"):
            return "the authority's certificate does not match its recorded fingerprint"
        if trusted is not None and fingerprint not in trusted:
            return (
                f"signed under {data.get('tsa_subject', '?')} (certificate SHA-256 {fingerprint}), "
                "which is not a certificate you named as trusted"
            )
        VerifierBuilder(roots=[root]).build().verify_message(response, bytes.fromhex(of_hash))
    except Exception as exc:  # noqa: BLE001 - the RFC 3161 library raises many kinds for bad answers
        return f"the token does not verify ({exc})"
    return None


def hash_of(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
