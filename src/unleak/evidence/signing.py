"""The case's signing key: an Ed25519 key that signs the hash of every log record.

The private key lives beside `case.key` in the case folder (`$UNLEAK_HOME/evidence/<case id>/
signing.key`, PKCS#8 PEM, mode 0600): never in the database, a bundle or a shared folder, and it is
never logged. Its public half is introduced in the log by a `signing_key` record (itself signed),
printed at case creation and by `unleak case show`, and written into every bundle.

What is signed is the 32 raw bytes of a record's SHA-256 (the same bytes a timestamp covers). A
key is named by its fingerprint: `ed25519:` + the hex SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from unleak.errors import UnleakError
from unleak.evidence.crypto import case_folder

KEY_FILE = "signing.key"
INTRO_ACTION = "signing_key"
FINGERPRINT_RE = re.compile(r"^ed25519:[0-9a-f]{64}$")
_loaded: dict[Path, tuple[tuple[int, int, int], Ed25519PrivateKey]] = {}  # path -> (file identity, key)


def key_path(case_id: int) -> Path:
    return case_folder(case_id) / KEY_FILE


def case_signing_key(case_id: int) -> Ed25519PrivateKey:
    """The case's private signing key, made on first use (atomically: racing processes get one key)."""
    path = key_path(case_id)
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd, tmp = tempfile.mkstemp(prefix=".signing-", dir=path.parent)  # mkstemp makes it 0600
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process made the key first: theirs is kept
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    try:
        st = path.stat()
        ident = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = _loaded.get(path)
        if cached is not None and cached[0] == ident:  # parsing the PEM each append would cost more
            return cached[1]
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise UnleakError(
            f"cannot read the case's signing key {path}: {exc}",
            hint="restore it from a backup (or move it away: a new key is then made and introduced in the log)",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UnleakError(f"the case's signing key {path} is not an Ed25519 key", hint="restore it from a backup")
    _loaded[path] = (ident, key)
    return key


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    """`ed25519:` + hex SHA-256 of the raw 32-byte public key."""
    return "ed25519:" + hashlib.sha256(public).hexdigest()


def public_pem(public: bytes) -> str:
    pub = Ed25519PublicKey.from_public_bytes(public)
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def case_fingerprint(case_id: int) -> str:
    return fingerprint(public_raw(case_signing_key(case_id)))


def sign_hash(key: Ed25519PrivateKey, record_hash: str) -> str:
    """The signature (hex) of a record's hash: Ed25519 over its 32 raw bytes."""
    return key.sign(bytes.fromhex(record_hash)).hex()


def signed_by(key: Ed25519PrivateKey, record_hash: str, signature: str | None) -> bool:
    """Whether this key made the signature: Ed25519 is deterministic, so signing again gives the same
    bytes (and costs a third of a verification)."""
    return signature is not None and sign_hash(key, record_hash) == signature


def verify_hash(public: bytes | Ed25519PublicKey, record_hash: str, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(public) if isinstance(public, bytes) else public
        key.verify(bytes.fromhex(signature), bytes.fromhex(record_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


def intro_data(public: bytes, *, replaces: str | None, unsigned_before: bool) -> dict:
    """The data of the record that introduces a key (the record is signed by that key)."""
    return {
        "algorithm": "ed25519",
        "public_key": public.hex(),
        "fingerprint": fingerprint(public),
        "signs": "the 32 raw bytes of the SHA-256 of every record from this one on",
        "replaces": replaces,
        "earlier_records_unsigned": unsigned_before,
    }


def parse_key_spec(spec: str) -> str:
    """A fingerprint from what a verifier holds: `ed25519:<hex>`, or a file holding a PEM public key,
    a fingerprint, or the public key in hex."""
    text = spec.strip()
    if FINGERPRINT_RE.match(text.lower()):
        return text.lower()
    path = Path(spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnleakError(
            f"--key {spec[:100]!r} is neither a key fingerprint nor a readable file ({exc.strerror or exc})",
            hint="give ed25519:<64 hex digits> (from `unleak case show`) or the bundle receiver's public key file",
        ) from None
    if b"-----BEGIN PUBLIC KEY-----" in data:
        try:
            pub = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise UnleakError(f"{path}: not a readable public key ({exc})") from None
        if not isinstance(pub, Ed25519PublicKey):
            raise UnleakError(f"{path}: not an Ed25519 public key")
        return fingerprint(public_raw(pub))
    try:
        words = data.decode("ascii").split()
    except UnicodeDecodeError:
        words = []
    for word in words:
        if FINGERPRINT_RE.match(word.lower()):
            return word.lower()
        if re.fullmatch(r"[0-9a-fA-F]{64}", word):
            return fingerprint(bytes.fromhex(word))
    raise UnleakError(
        f"{path}: holds no Ed25519 public key or key fingerprint",
        hint="give ed25519:<64 hex digits> or a PEM public key file",
    )


@dataclass
class SignatureCheck:
    """Signatures of a log: which key signed which records, and the first problem."""

    ok: bool = True
    problem: str | None = None
    bad_seq: int | None = None
    keys: list[tuple[int, str]] = field(default_factory=list)  # (seq of introduction, fingerprint)
    publics: dict[str, str] = field(default_factory=dict)  # fingerprint -> public key (hex)
    signed_from: int | None = None  # first record signed by the key that signs the head (or held key)
    head_key: str | None = None  # fingerprint of the key that signs the last record
    held_from: int | None = None  # with held keys: where the first of them is introduced
    unsigned: int = 0  # records before any key's introduction


def check_signatures(
    records: list[dict], hashes: list[str], sigs: list[str | None], held: set[str] | None = None
) -> SignatureCheck:
    """Check each record's signature against the key the log introduced most recently before it.

    Records before the first introduction are unsigned (a case from before keys). After it, every
    record must be signed by the current key. With `held` fingerprints (what the verifier was given),
    every record from the first introduction of a held key on must be signed by a held key."""
    out = SignatureCheck()
    current: tuple[int, Ed25519PublicKey, str] | None = None  # (intro seq, public key, fingerprint)

    def fail(seq: int, problem: str) -> SignatureCheck:
        out.ok, out.bad_seq, out.problem = False, seq, problem
        return out

    for rec, h, sig in zip(records, hashes, sigs, strict=True):
        seq, action = rec["seq"], rec.get("action", "?")
        if action == INTRO_ACTION:
            data = rec.get("data") or {}
            try:
                raw_key = bytes.fromhex(data["public_key"])
                loaded = Ed25519PublicKey.from_public_bytes(raw_key)
            except (KeyError, TypeError, ValueError, AttributeError):
                return fail(seq, f"record {seq} ({action}) holds no readable Ed25519 public key")
            fp = fingerprint(raw_key)
            if data.get("fingerprint") != fp:
                return fail(seq, f"record {seq} ({action}): its fingerprint is not its public key's ({fp})")
            current = (seq, loaded, fp)
            out.keys.append((seq, fp))
            out.publics[fp] = raw_key.hex()
            if out.held_from is None and held is not None and fp in held:
                out.held_from = seq
            if out.head_key != fp:
                out.signed_from = seq
            out.head_key = fp
        if current is None:
            if sig is not None:
                return fail(seq, f"record {seq} ({action}) carries a signature, but no key was introduced before it")
            out.unsigned += 1
            continue
        intro, public, fp = current
        if sig is None:
            return fail(seq, f"record {seq} ({action}) is not signed, though key {fp} was introduced at record {intro}")
        if not re.fullmatch(r"[0-9a-f]{128}", sig) or not verify_hash(public, h, sig):
            return fail(
                seq,
                f"record {seq} ({action}): its signature does not verify under key {fp} (introduced at record "
                f"{intro}): the record was changed, moved or made after it was signed, by someone without the key",
            )
        if held is not None and out.held_from is not None and fp not in held:
            return fail(
                seq,
                f"record {seq} ({action}) is signed by key {fp} (introduced at record {intro}), not by a key you "
                "hold: the log changed keys (ask the case's owner for that key's fingerprint) or was rewritten",
            )
    if held is not None and out.held_from is None:
        known = ", ".join(f"{fp} (record {seq})" for seq, fp in out.keys) or "none"
        return fail(
            records[-1]["seq"] if records else 0,
            f"the log never introduces the key you hold ({', '.join(sorted(held))}); keys it introduces: {known}. "
            "It was not signed by that key: it was rewritten, or belongs to another case",
        )
    return out
