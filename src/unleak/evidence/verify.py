"""Check an evidence bundle offline: every byte is vouched for, and the first problem is named.

Order: bundle.json (its one accepted form) -> the log's hash chain (each line in its one accepted
form) -> the export record at the end of the log, whose manifest hash must match manifest.sha256,
and with which bundle.json's other fields agree -> every file against the manifest, and no file
unlisted (an altered WARC file is traced to its capture record and its first bad WARC record) ->
each capture record's WARC hash -> each WARC's records (gzip integrity, digests) -> sightings.json
against the log's sighting records -> timestamps -> what the verifier holds: the case's key
(`keys`), heads noted at hand-over (`heads`), trusted timestamp authorities (`trusted_tsa`).

Without any of those the checks prove only that the bundle is consistent with itself: whoever holds
a bundle can rewrite it, re-chain the log and sign it with a key of their own. `proofs` says, for
each thing the verifier holds, what it established.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from unleak.evidence import signing
from unleak.evidence.export import BUNDLE_FORMAT, BUNDLE_VERSION, PUBLIC_KEY_FILE, UNLISTED, bundle_json
from unleak.evidence.log import verify_lines

_KEYS_V1 = {"format", "version", "case", "created_at", "log_head", "log_records", "export_seq", "manifest_sha256"}
_KEYS_V2 = _KEYS_V1 | {"public_key", "key_fingerprint"}
BUNDLE_KEYS = {1: _KEYS_V1, 2: _KEYS_V2, BUNDLE_VERSION: _KEYS_V2}  # 3 adds fields to sightings.json only
GZIP_CHUNK = 1 << 16


@dataclass
class BundleCheck:
    ok: bool
    problem: str | None = None  # the first bad record or file, named
    head_hash: str | None = None
    records: int = 0
    files: int = 0
    captures: int = 0
    warc_records: int = 0
    timestamps: int = 0
    authorities: list[str] = field(default_factory=list)  # "subject (certificate SHA-256)" of each timestamp
    trusted_authorities: bool = False  # checked against certificates the checker named
    notes: list[str] = field(default_factory=list)
    version: int | None = None
    key_fingerprint: str | None = None  # the key that signed the export record, as the log introduces it
    key_held: bool = False  # ... and it is one the verifier named (--key)
    signed_from: int | None = None  # the record introducing that key; records before it are unsigned
    heads: dict[str, int] = field(default_factory=dict)  # noted head -> its record number
    covered_seq: int | None = None  # the last record a timestamp covers
    proofs: list[str] = field(default_factory=list)  # what was proven, by what the verifier holds

    def __str__(self) -> str:
        if self.ok:
            return self.summary() + "".join(f"\n  - {p}" for p in self.proofs)
        return f"bundle NOT intact: {self.problem}"

    def summary(self) -> str:
        return (
            f"bundle intact: {self.records} log records (head {self.head_hash}), {self.files} files, "
            f"{self.captures} captures, {self.warc_records} WARC records checked"
            + (f", {self.timestamps} timestamp(s) verified" if self.timestamps else "")
            + (
                f" by {', '.join(sorted(set(self.authorities)))}"
                + (
                    ""
                    if self.trusted_authorities
                    else ": compare that fingerprint with the authority's, or pass --tsa-cert"
                )
                if self.authorities
                else ""
            )
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_bundle(
    path: Path,
    trusted_tsa: Iterable[bytes] | None = None,
    *,
    keys: Iterable[str] | None = None,
    heads: Iterable[str] = (),
) -> BundleCheck:
    """Check a bundle offline. What the checker holds, each optional:
    `trusted_tsa`: PEM certificates of timestamp authorities it trusts; every timestamp must then be
    signed under one of them, and at least one must cover the export record.
    `keys`: fingerprints (`ed25519:<hex>`) of the case's signing key, handed over earlier; every record
    from the key's introduction on, and the export record, must be signed by one of them.
    `heads`: log head hashes noted at hand-over; each must be a record of this log."""
    path = Path(path)
    result = BundleCheck(ok=False)
    held = {k.strip().lower() for k in keys} if keys is not None else None
    noted = [h.strip().lower() for h in heads]
    trusted = None
    if trusted_tsa is not None:
        from unleak.evidence.timestamp import cert_fingerprint

        trusted = {cert_fingerprint(pem) for pem in trusted_tsa}
        result.trusted_authorities = True

    def fail(problem: str) -> BundleCheck:
        result.ok, result.problem = False, problem
        return result

    if not path.is_dir():
        return fail(f"{path} is not a bundle folder")
    # 1. bundle.json
    try:
        raw = (path / "bundle.json").read_bytes()
        bundle = json.loads(raw.decode("utf-8"))
        if bundle.get("format") != BUNDLE_FORMAT:
            return fail("bundle.json: not an unleak evidence bundle")
        if bundle_json(bundle).encode("utf-8") != raw:
            return fail("bundle.json: altered (it is not in the form unleak writes)")
        version = bundle.get("version")
        if version not in BUNDLE_KEYS or set(bundle) != BUNDLE_KEYS[version]:
            return fail("bundle.json: altered (its fields are not the ones unleak writes)")
        result.version = version
        export_seq, head, manifest_sha = bundle["export_seq"], bundle["log_head"], bundle["manifest_sha256"]
    except FileNotFoundError:
        return fail("bundle.json: missing")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        return fail(f"bundle.json: altered or unreadable ({exc})")
    # 2. the log's chain; each line must be exactly as written
    try:
        log_bytes = (path / "log.jsonl").read_bytes()
        text = log_bytes.decode("utf-8")
    except FileNotFoundError:
        return fail("log.jsonl: missing")
    except UnicodeDecodeError as exc:
        n = log_bytes.count(b"\n", 0, exc.start) + 1
        return fail(f"log.jsonl line {n} (record {n}): altered (not UTF-8 at byte {exc.start})")
    if not text.endswith("\n"):
        n = text.count("\n") + 1
        return fail(f"log.jsonl line {n} (record {n}, the last): altered (the line is cut or extended)")
    lines = text[:-1].split("\n")
    pairs, sigs = [], []
    for n, line in enumerate(lines, 1):
        try:
            outer = json.loads(line)
            body, stored = outer["record"], outer["hash"]
            sig = outer["sig"] if version >= 2 else None
            form = {"hash": stored, "record": body} | ({"sig": sig} if version >= 2 else {})
            if json.dumps(form, ensure_ascii=False) != line:
                raise ValueError("not in the form unleak writes")
            if sig is not None and not isinstance(sig, str):
                raise ValueError("its signature is not a string")
        except (ValueError, KeyError, TypeError) as exc:
            seq = _guess_seq(line) or n  # a record's number is its line's, unless records were removed
            return fail(f"log.jsonl line {n} (record {seq}): altered ({exc})")
        pairs.append((body, stored))
        sigs.append(sig)
    chain = verify_lines(pairs)
    if not chain.ok:
        return fail(f"log.jsonl: {chain}")
    result.records, result.head_hash = chain.count, chain.head_hash
    records = chain.records
    # 2b. signatures: each by the key the log introduced before it (and, with --key, by a key held)
    signed = signing.check_signatures(records, [h for _b, h in pairs], sigs, held)
    if not signed.ok:
        return fail(f"log.jsonl: {signed.problem}")
    # 3. the export record and what follows it (only timestamps of the head may follow)
    if export_seq < 1 or export_seq > len(records):
        return fail(
            f"log.jsonl: the export record {export_seq} named in bundle.json is missing "
            "(records were removed from the end)"
        )
    export = records[export_seq - 1]
    if export["action"] != "export":
        return fail(f"log.jsonl: record {export_seq} is not this bundle's export record")
    for rec in records[export_seq:]:
        if rec["action"] != "timestamp":
            return fail(f"log.jsonl: record {rec['seq']} ({rec['action']}) follows the export record")
    if chain.head_hash != head:
        return fail(
            f"bundle.json: its log head {head} differs from the log's head {chain.head_hash} "
            "(records were removed or added)"
        )
    problem = _check_export_key(bundle, version, export_seq, sigs, signed, held, path)
    if problem:
        return fail(problem)
    if export["data"].get("manifest_sha256") != manifest_sha:
        return fail(f"bundle.json: its manifest hash differs from export record {export_seq}'s")
    # bundle.json's other fields are vouched for by the log too
    for key, logged in (
        ("case", export["case"]),
        ("created_at", export["data"].get("created_at")),
        ("log_records", chain.count),
    ):
        if bundle[key] != logged:
            return fail(
                f"bundle.json: its {key} {bundle[key]!r} differs from the log's {logged!r} (export record {export_seq})"
            )
    # 4. the manifest and the files it lists
    mpath = path / "manifest.sha256"
    if not mpath.exists():
        return fail("manifest.sha256: missing")
    if _sha256(mpath) != manifest_sha:
        return fail(f"manifest.sha256: altered (its SHA-256 is not the one in log record {export_seq})")
    listed: dict[str, str] = {}
    for n, line in enumerate(mpath.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            return fail(f"manifest.sha256 line {n}: unreadable")
        listed[name] = digest
    for name, digest in listed.items():
        f = path / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            return fail(f"manifest.sha256 lists a path outside the bundle: {name}")
        if not f.is_file():
            return fail(f"{name}: missing (listed in manifest.sha256)")
        actual = _sha256(f)
        if actual != digest:
            return fail(
                f"{name}: altered (SHA-256 {actual}, the manifest says {digest})"
                + (_warc_detail(path, name, records) if name.startswith("warc/") else "")
            )
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if rel not in listed and rel not in UNLISTED:
            return fail(f"{rel}: not in manifest.sha256 (a file was added)")
    result.files = len(listed) + len(UNLISTED)
    # 5. captures in the log <-> WARC files
    capture_recs = [r for r in records if r["action"] == "capture"]
    for rec in capture_recs:
        name = f"warc/{rec['data']['warc']}"
        if name not in listed:
            return fail(f"{name}: missing (log record {rec['seq']} captured it)")
        if listed[name] != rec["data"]["warc_sha256"]:
            return fail(f"{name}: differs from the capture in log record {rec['seq']}")
    result.captures = len(capture_recs)
    # 6. each WARC's own digests, and the record ids the log names
    for name in sorted(n for n in listed if n.startswith("warc/")):
        problem, count, ids = _check_warc(path / name, _logged_ids(records, name))
        if problem:
            return fail(f"{name}: {problem}")
        result.warc_records += count
        for rec in capture_recs:
            if f"warc/{rec['data']['warc']}" == name:
                missing = [v for v in (rec["data"].get("record_ids") or {}).values() if v and v not in ids]
                if missing:
                    return fail(f"{name}: lacks WARC record {missing[0]} named in log record {rec['seq']}")
    # 7. sightings.json agrees with the log
    if "sightings.json" in listed:
        try:
            sightings = {s["id"]: s for s in json.loads((path / "sightings.json").read_text(encoding="utf-8"))}
        except (ValueError, KeyError, TypeError) as exc:
            return fail(f"sightings.json: unreadable ({exc})")
        for rec in records:
            if rec["action"] == "sighting":
                sid = rec["data"]["sighting_id"]
                if sid not in sightings or sightings[sid]["media_url"] != rec["data"]["media_url"]:
                    return fail(f"sightings.json: sighting {sid} of log record {rec['seq']} is missing or differs")
    # 8. timestamps
    for rec in records:
        if rec["action"] == "timestamp":
            from unleak.evidence.timestamp import check_timestamp_record

            problem = check_timestamp_record(rec, records, trusted)
            if problem:
                return fail(f"log.jsonl: record {rec['seq']} (timestamp): {problem}")
            result.timestamps += 1
            data = rec["data"]
            result.authorities.append(f"{data.get('tsa_subject', '?')} ({data.get('tsa_cert_sha256', '?')})")
            of_seq = int(data["of_seq"])
            result.covered_seq = max(result.covered_seq or 0, of_seq)
            result.proofs.append(
                f"timestamp (record {rec['seq']}) by {data.get('tsa_subject', '?')} at {data.get('gen_time', '?')} "
                f"covers record {of_seq}: records 1-{of_seq} existed then"
                + ("" if trusted is not None else " (if you trust that authority: pass --tsa-cert to require it)")
            )
    if trusted is not None and (result.covered_seq or 0) < export_seq:
        return fail(
            f"no timestamp covers the export record {export_seq}"
            + (f" (the last one covers record {result.covered_seq})" if result.covered_seq else " (it has none)")
            + ": with --tsa-cert a bundle must be dated by an authority you trust, and timestamps that "
            "followed the export record may have been dropped. Export with --tsa URL --tsa-cert PEM"
        )
    # 9. heads noted at hand-over
    by_hash = {h: n for n, (_b, h) in enumerate(pairs, 1)}
    for h in noted:
        if h not in by_hash:
            return fail(
                f"the head you noted ({h}) is not a record of this log: the log was rewritten since it was "
                "noted, or this is another case's bundle"
            )
        k = by_hash[h]
        result.heads[h] = k
        result.proofs.append(
            f"noted head {h[:16]}… is record {k}: records 1-{k} are unchanged since it was noted"
            + (f"; records {k + 1}-{chain.count} were added after it" if k < chain.count else "")
        )
    result.proofs[:0] = _key_proofs(result, signed, held, export_seq)
    result.proofs.insert(
        0,
        f"hash chain: records 1-{chain.count} unbroken, and every file is vouched for by export record "
        f"{export_seq}: this shows the bundle is consistent, not who wrote it (anyone can re-chain a log)",
    )
    result.ok = True
    return result


def _check_export_key(
    bundle: dict,
    version: int,
    export_seq: int,
    sigs: list[str | None],
    signed: signing.SignatureCheck,
    held: set[str] | None,
    path: Path,
) -> str | None:
    """The export record is signed (by a held key, when the checker holds one), and bundle.json and
    public_key.pem name the key that signed it."""
    if version >= 2 or held is not None:
        if sigs[export_seq - 1] is None:
            return f"log.jsonl: the export record {export_seq} is not signed"
        if held is not None and (signed.held_from is None or signed.held_from > export_seq):
            return f"log.jsonl: the export record {export_seq} is not signed by the key you hold"
    if version < 2:
        return None
    fp = next(f for seq, f in reversed(signed.keys) if seq <= export_seq)
    if bundle["key_fingerprint"] != fp or bundle["public_key"] != _public_of(signed, fp):
        return f"bundle.json: its key differs from the one that signed export record {export_seq} ({fp})"
    try:
        pem = (path / PUBLIC_KEY_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"{PUBLIC_KEY_FILE}: missing or unreadable"
    if pem != signing.public_pem(bytes.fromhex(bundle["public_key"])):
        return f"{PUBLIC_KEY_FILE}: differs from the key that signed export record {export_seq} ({fp})"
    return None


def _public_of(signed: signing.SignatureCheck, fp: str) -> str | None:
    return signed.publics.get(fp)


def _key_proofs(
    result: BundleCheck, signed: signing.SignatureCheck, held: set[str] | None, export_seq: int
) -> list[str]:
    """What the signatures prove, given whether the checker holds the key."""
    if not signed.keys:
        result.notes.append("the log is not signed (a bundle from before cases had signing keys)")
        return ["signatures: none (the log is from before cases had signing keys): see --head or --tsa-cert"]
    intro = next(seq for seq, fp in reversed(signed.keys) if seq <= export_seq)
    fp = next(f for seq, f in reversed(signed.keys) if seq <= export_seq)
    result.key_fingerprint, result.signed_from = fp, intro
    before = (
        f"; records 1-{intro - 1} are unsigned, before record {intro} (the key's introduction), and are fixed "
        f"by the chain under record {intro}'s signature as they were when the key was introduced"
        if intro > 1
        else ""
    )
    if held is not None:
        result.key_held = True
        return [
            f"key {fp} (which you hold) signed records {intro}-{result.records}, the export record {export_seq} "
            "among them: the bundle, every file in it, was written by the holder of the case's private key and "
            f"not changed since{before}. It does not prove when (see --head, --tsa-cert), nor that the key's "
            "holder recorded only what they saw"
        ]
    return [
        f"signatures: records {intro}-{result.records} are signed by key {fp}, which the log introduces itself "
        f"(record {intro}): that proves nothing on its own, since a forger signs with a key of their own. "
        "Compare the fingerprint with the one you were given, or pass --key FINGERPRINT"
    ]


def _guess_seq(line: str) -> int | None:
    m = re.search(r'\\"seq\\":(\d+)', line)
    return int(m.group(1)) if m else None


def _logged_ids(records: list[dict], name: str) -> set[str]:
    """The WARC record ids that the log's capture records name for this file."""
    return {
        v
        for r in records
        if r["action"] == "capture" and f"warc/{r['data']['warc']}" == name
        for v in (r["data"].get("record_ids") or {}).values()
        if v
    }


def _warc_detail(path: Path, name: str, records: list[dict]) -> str:
    """For an altered WARC file: the capture record that vouched for it, and its first bad WARC record."""
    caps = [r["seq"] for r in records if r["action"] == "capture" and f"warc/{r['data']['warc']}" == name]
    where = f"; its capture is log record {caps[0]}" if caps else ""
    problem, _count, _ids = _check_warc(path / name, _logged_ids(records, name))
    return where + (
        "; first bad " + problem
        if problem
        else "; yet every WARC record in it reads back intact (the change is outside them)"
    )


def _check_warc(path: Path, logged_ids: Collection[str] = frozenset()) -> tuple[str | None, int, set[str]]:
    """Check a WARC file record by record, naming the first bad one. Each record is its own gzip member:
    it must decompress whole (gzip's CRC-32 and length catch a changed byte anywhere in its data), its
    10-byte gzip header must be the file's usual one (the bytes no checksum covers: one writer, one
    header), and its WARC-Block-Digest / WARC-Payload-Digest must hold (as `warcio check` does)."""
    data = path.read_bytes()
    members: list[tuple[int, bytes, bytes]] = []  # (offset, gzip header, the record's plain bytes)
    pos, broken = 0, None
    while pos < len(data) and broken is None:
        d, out, i = zlib.decompressobj(31), [], pos
        try:
            while not d.eof:
                if i >= len(data):
                    raise zlib.error("the file ends inside this record")
                chunk = data[i : i + GZIP_CHUNK]
                out.append(d.decompress(chunk))
                i += len(chunk)
            members.append((pos, data[pos : pos + 10], b"".join(out)))
            pos = i - len(d.unused_data)
        except zlib.error as exc:
            partial = _partial(data, pos)
            m = re.search(rb"WARC-Type: (\w+)\r\nWARC-Record-ID: (<[^>\s]+>)", partial)
            rtype, rid = (m.group(1).decode("latin-1"), m.group(2).decode("latin-1")) if m else ("", "")
            which = f" ({rtype} {rid})" if rid in logged_ids else ""  # only an id the log vouches for
            broken = (
                len(members) + 1,
                f"WARC record {len(members) + 1}{which} at byte {pos}: its gzip data was altered ({exc})",
            )
    usual = Counter(h for _o, h, _p in members).most_common(1)[0][0] if members else None
    count, ids = 0, set[str]()
    for n, (offset, header, plain) in enumerate(members, 1):
        if broken and broken[0] <= n:
            break
        if header != usual:
            return f"WARC record {n} at byte {offset}: its gzip header was altered", count, ids
        problem, rid = _check_record(plain)
        if problem:
            return f"WARC record {n}{f' {rid}' if rid else ''} at byte {offset}: {problem}", count, ids
        if rid is not None:
            ids.add(rid)
        count += 1
    if broken:
        return broken[1], count, ids
    if count == 0:
        return "holds no WARC records", count, ids
    return None, count, ids


def _partial(data: bytes, pos: int, step: int = 64) -> bytes:
    """What a broken gzip member decompresses to before the damage (to read its WARC headers)."""
    d, out = zlib.decompressobj(31), []
    try:
        for i in range(pos, min(len(data), pos + (1 << 20)), step):
            out.append(d.decompress(data[i : i + step]))
            if d.eof or sum(map(len, out)) > 4096:
                break
    except zlib.error:
        pass
    return b"".join(out)


def _check_record(plain: bytes) -> tuple[str | None, str | None]:
    """(problem, record id) of one decompressed WARC record."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    found: list[str | None] = []
    try:
        for record in ArchiveIterator(io.BytesIO(plain), check_digests=True):
            stream = record.content_stream()
            while stream.read(1 << 20):
                pass
            rid = record.rec_headers.get_header("WARC-Record-ID")
            found.append(rid)
            if record.digest_checker.passed is False:
                return "; ".join(map(str, record.digest_checker.problems)), rid
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        return f"not a readable WARC record ({exc})", found[0] if found else None
    if len(found) != 1:
        return f"holds {len(found)} WARC records where one was written", found[0] if found else None
    return None, found[0]
