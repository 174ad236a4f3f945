"""Check an evidence bundle offline: every byte is vouched for, and the first problem is named.

Order: bundle.json (its one accepted form) -> the log's hash chain (each line in its one accepted
form) -> the export record at the end of the log, whose manifest hash must match manifest.sha256
-> every file against the manifest, and no file unlisted -> each capture record's WARC hash ->
each WARC's record digests -> sightings.json against the log's sighting records -> timestamps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from unleak.evidence.export import BUNDLE_FORMAT, UNLISTED, bundle_json
from unleak.evidence.log import verify_lines


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
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            return (f"bundle intact: {self.records} log records (head {self.head_hash}), {self.files} files, "
                    f"{self.captures} captures, {self.warc_records} WARC records checked"
                    + (f", {self.timestamps} timestamp(s) verified" if self.timestamps else ""))
        return f"bundle NOT intact: {self.problem}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_bundle(path: Path) -> BundleCheck:
    path = Path(path)
    result = BundleCheck(ok=False)

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
        export_seq, head, manifest_sha = bundle["export_seq"], bundle["log_head"], bundle["manifest_sha256"]
    except FileNotFoundError:
        return fail("bundle.json: missing")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        return fail(f"bundle.json: altered or unreadable ({exc})")
    # 2. the log's chain; each line must be exactly as written
    try:
        text = (path / "log.jsonl").read_bytes().decode("utf-8")
    except FileNotFoundError:
        return fail("log.jsonl: missing")
    except UnicodeDecodeError as exc:
        return fail(f"log.jsonl: altered (not UTF-8 at byte {exc.start})")
    if not text.endswith("\n"):
        return fail("log.jsonl: altered (the last line is cut or extended)")
    lines = text[:-1].split("\n")
    pairs = []
    for n, line in enumerate(lines, 1):
        try:
            outer = json.loads(line)
            body, stored = outer["record"], outer["hash"]
            if json.dumps({"hash": stored, "record": body}, ensure_ascii=False) != line:
                raise ValueError("not in the form unleak writes")
        except (ValueError, KeyError, TypeError) as exc:
            seq = _guess_seq(line)
            return fail(f"log.jsonl line {n}{f' (record {seq})' if seq else ''}: altered ({exc})")
        pairs.append((body, stored))
    chain = verify_lines(pairs)
    if not chain.ok:
        return fail(f"log.jsonl: {chain}")
    result.records, result.head_hash = chain.count, chain.head_hash
    records = chain.records
    # 3. the export record and what follows it (only timestamps of the head may follow)
    if export_seq < 1 or export_seq > len(records):
        return fail(f"log.jsonl: the export record {export_seq} named in bundle.json is missing "
                    "(records were removed from the end)")
    export = records[export_seq - 1]
    if export["action"] != "export":
        return fail(f"log.jsonl: record {export_seq} is not this bundle's export record")
    for rec in records[export_seq:]:
        if rec["action"] != "timestamp":
            return fail(f"log.jsonl: record {rec['seq']} ({rec['action']}) follows the export record")
    if chain.head_hash != head:
        return fail(f"bundle.json: its log head {head} differs from the log's head {chain.head_hash} "
                    "(records were removed or added)")
    if export["data"].get("manifest_sha256") != manifest_sha:
        return fail(f"bundle.json: its manifest hash differs from export record {export_seq}'s")
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
            return fail(f"{name}: altered (SHA-256 {actual}, the manifest says {digest})")
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
        problem, count, ids = _check_warc(path / name)
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

            problem = check_timestamp_record(rec, records)
            if problem:
                return fail(f"log.jsonl: record {rec['seq']} (timestamp): {problem}")
            result.timestamps += 1
    result.ok = True
    return result


def _guess_seq(line: str) -> int | None:
    import re

    m = re.search(r'\\"seq\\":(\d+)', line)
    return int(m.group(1)) if m else None


def _check_warc(path: Path) -> tuple[str | None, int, set[str]]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    count, ids = 0, set()
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, check_digests=True)
            for record in it:
                stream = record.content_stream()
                while stream.read(1 << 20):
                    pass
                rid = record.rec_headers.get_header("WARC-Record-ID")
                if record.digest_checker.passed is False:
                    return (f"WARC record {rid} at offset {it.get_record_offset()}: "
                            + "; ".join(map(str, record.digest_checker.problems)), count, ids)
                ids.add(rid)
                count += 1
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        return f"not a readable WARC file ({exc})", count, ids
    if count == 0:
        return "holds no WARC records", count, ids
    return None, count, ids
