"""Export a case's evidence as a self-contained bundle, verifiable offline.

BUNDLE/
  warc/*.warc.gz      the captures, decrypted (standard WARC 1.1; `warcio index` / `warcio check`)
  sightings.json      every sighting with its captures (and, from version 3, when the caller adds
                      the spread: derived_from, derived_confidence, derived_how, first_public_copy)
  report.html, report.pdf
  spread.png          when the caller adds the spread section: the estimated tree of copies
  takedown.png        when notices were sent and the caller adds the take-down section (see
                      export_bundle): the chart of time to removal per host and basis
  public_key.pem      the case's Ed25519 public key (its private half never leaves the case folder)
  README.txt          how to verify by hand
  manifest.sha256     `sha256sum -c` format, for every file above
  log.jsonl           the case's hash-chained log, each record's hash signed by the case's key, ending
                      with this export's record, which holds the SHA-256 of manifest.sha256 (so the
                      log vouches for every file)
  bundle.json         the case, the log's head hash, the export record's number, the key's fingerprint
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from unleak import __version__
from unleak.errors import EvidenceError, InvalidInput
from unleak.evidence import signing
from unleak.evidence.capture import read_capture
from unleak.evidence.log import append_record, ensure_key, export_lines, iso_utc
from unleak.evidence.report import SpreadSection, TakedownSection, write_html, write_pdf
from unleak.evidence.sightings import list_sightings
from unleak.store import Store
from unleak.store.models import Capture

BUNDLE_FORMAT = "unleak-evidence-bundle"
# 2: signed log lines ("sig"), public_key.pem, bundle.json's public_key and key_fingerprint
# 3: sightings.json may carry each sighting's estimated lineage (derived_from, derived_confidence,
#    derived_how, first_public_copy) and the report a spread section with spread.png
BUNDLE_VERSION = 3
PUBLIC_KEY_FILE = "public_key.pem"
UNLISTED = ("manifest.sha256", "log.jsonl", "bundle.json")  # vouched for by the log, not the manifest
# Adds a section to the report, writing any file it shows into the bundle folder: (store, case
# name, bundle folder, export time) -> the section, or None for nothing to add.
SectionMaker = Callable[[Store, str, Path, datetime], TakedownSection | None]
# The same for the spread section (unleak.spread.case.bundle_section); its per-sighting fields go
# into sightings.json.
SpreadMaker = Callable[[Store, str, Path], SpreadSection | None]

README = """This folder is an evidence bundle written by unleak {version} for case "{case}" on {created}.

How to check it without unleak (any machine, offline):

1. The log vouches for the manifest. Find the record with "seq":{export_seq} in log.jsonl
   (the export record); its data.manifest_sha256 must equal:
       sha256sum manifest.sha256
2. The manifest vouches for every other file:
       sha256sum -c manifest.sha256
3. The log is a hash chain: for each line, the SHA-256 of the "record" string (as UTF-8) is the
   line's "hash", and each record's "prev" is the hash of the record before it (64 zeros for the
   first). The hash of the last record is the log's head:
       {head}
   Compare it with the head you noted or had timestamped when the bundle was handed over.
4. Each line's "sig" is an Ed25519 signature of the 32 bytes of its "hash" (hex-decoded), by the
   case's signing key, whose fingerprint (the SHA-256 of the raw 32-byte public key) is
       {fingerprint}
   Compare it with the fingerprint you were given when the case began: a bundle rewritten by anyone
   without the case's private key cannot carry that key's signatures. The key is introduced by the
   log's "signing_key" record; records before it (from before cases had keys) are unsigned:
       python3 - "$(python3 -c 'import json;print(json.load(open("bundle.json"))["public_key"])')" <<'PY'
import hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
pub = sys.argv[1]
print("key ed25519:" + hashlib.sha256(bytes.fromhex(pub)).hexdigest())  # the fingerprint you were given?
key, signed = Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)), False
for line in open("log.jsonl", encoding="utf-8"):
    o = json.loads(line)
    rec = json.loads(o["record"])
    signed = signed or (rec["action"] == "signing_key" and rec["data"]["public_key"] == pub)
    if signed:  # every record from the key's introduction on; raises InvalidSignature if not its
        key.verify(bytes.fromhex(o["sig"] or ""), bytes.fromhex(o["hash"]))
print("signatures good")
PY
5. Each WARC file loads in standard tools, e.g. `warcio index warc/FILE` and `warcio check warc/FILE`,
   and its SHA-256 equals the warc_sha256 of its "capture" record in the log.

Or, with unleak installed: unleak evidence verify THIS-FOLDER --key FINGERPRINT
"""


@dataclass
class ExportResult:
    path: Path
    captures: int
    sightings: int
    log_records: int
    head_hash: str
    manifest_sha256: str
    key_fingerprint: str = ""


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def export_bundle(
    store: Store,
    case: str | None,
    out: Path,
    *,
    with_labels: bool = False,
    pdf: bool = True,
    tsa: tuple[str, bytes, list[str]] | None = None,
    takedown: SectionMaker | None = None,
    spread: SpreadMaker | None = None,
) -> ExportResult:
    """Write the bundle to `out` (a new folder). Labels of protected items are left out unless asked:
    they are the owner's words, and bundles go to platforms and authorities.

    `takedown` adds the take-down tables and chart to the report: pass
    `unleak.takedown.report.bundle_section` (take-down reads evidence, so evidence does not import it)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{out} already exists and is not empty", hint="give a new folder name")
    tmp = Path(tempfile.mkdtemp(prefix=".unleak-export-", dir=out.parent if out.parent.exists() else None))
    try:
        with store.session() as s:
            c = store.case(s, case, create=False)
            case_id, case_name = c.id, c.name
            (tmp / "warc").mkdir()
            captures = list(s.scalars(select(Capture).where(Capture.case_id == case_id).order_by(Capture.id)))
            for cap in captures:
                (tmp / "warc" / cap.warc_name).write_bytes(read_capture(case_id, cap))
        sightings = [v.to_json() for v in list_sightings(store, case_name)]
        if not with_labels:
            for v in sightings:
                v.pop("label", None)
        created = datetime.now(UTC)
        spread_section = spread(store, case_name, tmp) if spread else None
        if spread_section is not None:
            for v in sightings:
                v.update(spread_section.fields.get(v["id"], {}))
        (tmp / "sightings.json").write_text(json.dumps(sightings, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        meta = {
            "case": case_name,
            "exported (UTC)": iso_utc(created),
            "sightings": len(sightings),
            "still up": sum(1 for v in sightings if v["status"] == "up"),
            "captures": len(captures),
            "software": f"unleak {__version__}",
        }
        # Written before the manifest is made, so the manifest (and through it the log) covers the chart.
        section = takedown(store, case_name, tmp, created) if takedown else None
        write_html(tmp / "report.html", meta, sightings, section, spread_section)
        if pdf:
            write_pdf(tmp / "report.pdf", meta, sightings, section, spread_section)
        (tmp / "README.txt").write_text("(written last)\n")
        # The export record needs the manifest's hash and README needs the record's number: reserve
        # the record inside one transaction, then write README, manifest and log.
        with store.session() as s:
            # The key that will sign the export record, introduced in the log first if it is not yet.
            ensure_key(s, case_id)
            public = signing.public_raw(signing.case_signing_key(case_id))
            key_fp = signing.fingerprint(public)
            (tmp / PUBLIC_KEY_FILE).write_text(signing.public_pem(public), encoding="utf-8")
            files = sorted(p for p in tmp.rglob("*") if p.is_file())
            # README's content depends on the record; hash the other files first
            listed = [p for p in files if p.name != "README.txt"]
            lines = [f"{_sha256_file(p)}  {p.relative_to(tmp).as_posix()}\n" for p in listed]
            from unleak.evidence.log import head as log_head

            prev = log_head(s, case_id)
            export_seq = (prev.seq + 1) if prev else 1
            # The head after the export record is not known until the record exists; README names it
            # as "the hash of the last record" and bundle.json carries the value.
            readme = README.format(
                version=__version__,
                case=case_name,
                created=iso_utc(created),
                export_seq=export_seq,
                head="(see bundle.json: log_head)",
                fingerprint=key_fp,
            )
            (tmp / "README.txt").write_text(readme, encoding="utf-8")
            lines.append(f"{_sha256_file(tmp / 'README.txt')}  README.txt\n")
            manifest = "".join(sorted(lines, key=lambda line: line.split("  ", 1)[1]))
            (tmp / "manifest.sha256").write_text(manifest, encoding="utf-8")
            manifest_sha = hashlib.sha256(manifest.encode("utf-8")).hexdigest()
            rec = append_record(
                s,
                case_id,
                "export",
                {
                    "manifest_sha256": manifest_sha,
                    "files": len(lines),
                    "captures": len(captures),
                    "sightings": len(sightings),
                    "bundle_name": out.name,
                    "created_at": iso_utc(created),
                },
            )
            if rec.seq != export_seq:
                raise EvidenceError("the log moved while exporting", hint="run the export again")
            final = rec
            if tsa is not None:  # a timestamp of the export record: the bundle's every byte, dated
                from unleak.evidence.timestamp import timestamp_head

                final = timestamp_head(s, case_id, tsa[0], tsa[1], allow_networks=tsa[2]).record
            with open(tmp / "log.jsonl", "w", encoding="utf-8", newline="\n") as fh:
                n = 0
                for line in export_lines(s, case_id):
                    fh.write(line)
                    n += 1
            bundle = {
                "format": BUNDLE_FORMAT,
                "version": BUNDLE_VERSION,
                "case": case_name,
                "created_at": iso_utc(created),
                "log_head": final.hash,
                "log_records": n,
                "export_seq": rec.seq,
                "manifest_sha256": manifest_sha,
                "public_key": public.hex(),
                "key_fingerprint": key_fp,
            }
            (tmp / "bundle.json").write_text(bundle_json(bundle), encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(out, len(captures), len(sightings), n, final.hash, manifest_sha, key_fp)


def bundle_json(bundle: dict) -> str:
    """bundle.json's one accepted form (verify rejects any other byte sequence)."""
    return json.dumps(bundle, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
