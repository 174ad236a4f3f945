"""A forger's rewrite of an evidence bundle, kept as a test fixture.

It uses only what a bundle documents about itself (README.txt, docs/evidence.md) and no secret:
delete a sighting with its capture record and WARC, swap records, forge a WARC's content and rewrite
its digests, add a made-up sighting against an innocent URL and uploader; then re-chain the log,
drop the timestamp records that trailed the export record (they cover hashes that no longer exist),
rebuild manifest.sha256 and bundle.json. Before the log was signed, this passed `evidence verify`.

What the forger does about signatures is `save(sign=...)`:
  "keep"  reuse each record's signature (still valid only where the record's hash did not change);
  "own"   sign with a key of the forger's own, put in place of the case's key everywhere;
  "strip" remove the key's introduction and every signature, and write a format-1 bundle.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

UNLISTED = ("manifest.sha256", "log.jsonl", "bundle.json")


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


class Forgery:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.bundle = json.loads((self.path / "bundle.json").read_text(encoding="utf-8"))
        self.lines = [json.loads(line) for line in (self.path / "log.jsonl").read_text(encoding="utf-8").splitlines()]
        self.records = [json.loads(o["record"]) for o in self.lines]
        self.sigs = [o.get("sig") for o in self.lines]
        self.sightings = json.loads((self.path / "sightings.json").read_text(encoding="utf-8"))
        # the timestamps after the export record no longer cover anything once the log is re-chained
        n = self.bundle["export_seq"]
        del self.records[n:], self.sigs[n:]

    # --- the rewrites ----------------------------------------------------------------------------
    def _drop(self, keep) -> None:
        kept = [i for i, r in enumerate(self.records) if keep(r)]
        self.records = [self.records[i] for i in kept]
        self.sigs = [self.sigs[i] for i in kept]

    def delete_sighting(self, sighting_id: int) -> None:
        """Remove a sighting's records (the sighting, its captures, removals), its WARCs, its entry."""
        for r in self.records:
            if r["action"] == "capture" and r["data"]["sighting_id"] == sighting_id:
                (self.path / "warc" / r["data"]["warc"]).unlink()
        self._drop(lambda r: r["data"].get("sighting_id") != sighting_id or r["action"] == "scan")
        self.sightings = [s for s in self.sightings if s["id"] != sighting_id]

    def swap(self, a: int, b: int) -> None:
        """Swap the records numbered a and b."""
        for seq in (self.records, self.sigs):
            seq[a - 1], seq[b - 1] = seq[b - 1], seq[a - 1]

    def forge_warc(self, sighting_id: int, new_media: bytes) -> None:
        """Replace the media in a sighting's WARC, recompute its WARC digests, and every hash naming it."""
        cap = next(r for r in self.records if r["action"] == "capture" and r["data"]["sighting_id"] == sighting_id)
        path = self.path / "warc" / cap["data"]["warc"]
        old_media = cap["data"]["media_sha256"]
        media_sha = _sha(new_media)
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                payload = rec.raw_stream.read()
                http = rec.http_headers
                if rec.rec_type in ("response", "resource") and rec.rec_headers.get_header("WARC-Target-URI") == cap[
                    "data"
                ].get("media_url"):
                    payload = new_media
                    if http is not None:
                        http.replace_header("Content-Length", str(len(payload)))
                elif rec.rec_type == "metadata":
                    payload = payload.replace(old_media.encode(), media_sha.encode())
                headers = {
                    k: v
                    for k, v in rec.rec_headers.headers
                    if k not in ("WARC-Block-Digest", "WARC-Payload-Digest", "Content-Length", "WARC-Type")
                }
                new = writer.create_warc_record(
                    rec.rec_headers.get_header("WARC-Target-URI"),
                    rec.rec_type,
                    payload=io.BytesIO(payload),
                    http_headers=http,
                    warc_headers_dict=headers,
                    warc_content_type=rec.rec_headers.get_header("Content-Type") or "",
                )
                writer.write_record(new)
        data = out.getvalue()
        path.write_bytes(data)
        cap["data"]["warc_sha256"], cap["data"]["media_sha256"] = _sha(data), media_sha
        for r in self.records:
            if r["action"] == "sighting" and r["data"]["sighting_id"] == sighting_id:
                r["data"]["media_sha256"] = media_sha
        for s in self.sightings:
            for c in s["captures"]:
                if c["warc"] == cap["data"]["warc"]:
                    c["warc_sha256"] = _sha(data)

    def add_sighting(self, media_url: str, page_url: str, uploader: str, media: bytes) -> int:
        """A made-up sighting with its capture (a WARC written with the same tools), before the export."""
        from unleak.evidence.capture import LocalFile, build_warc

        like_s = next(r for r in self.records if r["action"] == "sighting")
        like_c = next(r for r in self.records if r["action"] == "capture")
        sid = max(s["id"] for s in self.sightings) + 1
        host = media_url.split("/")[2]
        warc_name = f"20260101T000000-s{sid}-deadbeef.warc.gz"
        data, ids = build_warc(
            LocalFile(media_url, media),
            None,
            {"sighting_id": sid, "media_url": media_url, "page_url": page_url, "uploader": uploader},
            filename=warc_name,
        )
        (self.path / "warc" / warc_name).write_bytes(data)
        sighting = copy.deepcopy(like_s)
        sighting["data"].update(
            sighting_id=sid,
            media_url=media_url,
            page_url=page_url,
            host=host,
            uploader=uploader,
            media_sha256=_sha(media),
        )
        capture = copy.deepcopy(like_c)
        capture["data"].update(
            capture_id=capture["data"]["capture_id"] + 1000,
            sighting_id=sid,
            warc=warc_name,
            warc_sha256=_sha(data),
            media_url=media_url,
            page_url=page_url,
            media_sha256=_sha(media),
            record_ids=ids,
        )
        at = len(self.records) - 1  # just before the export record
        self.records[at:at] = [sighting, capture]
        self.sigs[at:at] = [None, None]
        entry = copy.deepcopy(self.sightings[0])
        entry.update(id=sid, media_url=media_url, page_url=page_url, host=host, uploader=uploader)
        entry["captures"] = [{**entry["captures"][0], "warc": warc_name, "warc_sha256": _sha(data)}]
        self.sightings.append(entry)
        return sid

    # --- re-chain and rebuild --------------------------------------------------------------------
    def save(self, sign: str = "keep") -> None:
        key = Ed25519PrivateKey.generate() if sign == "own" else None
        if sign == "strip":
            self._drop(lambda r: r["action"] != "signing_key")
        if key is not None:
            public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            fp = "ed25519:" + _sha(public)
            intros = [r for r in self.records if r["action"] == "signing_key"]
            if not intros:
                self.records.insert(0, {"action": "signing_key", "case": self.records[0]["case"], "data": {}})
                self.sigs.insert(0, None)
                intros = [self.records[0]]
            for r in intros:
                r["data"].update(public_key=public.hex(), fingerprint=fp)
        (self.path / "sightings.json").write_text(
            json.dumps(self.sightings, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        export = self.records[-1]
        assert export["action"] == "export"
        if key is not None:
            pem = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            (self.path / "public_key.pem").write_bytes(pem)
        if sign == "strip":
            (self.path / "public_key.pem").unlink(missing_ok=True)
        manifest = "".join(
            f"{_sha(p.read_bytes())}  {p.relative_to(self.path).as_posix()}\n"
            for p in sorted(self.path.rglob("*"), key=lambda p: p.relative_to(self.path).as_posix())
            if p.is_file() and p.relative_to(self.path).as_posix() not in UNLISTED
        )
        (self.path / "manifest.sha256").write_text(manifest, encoding="utf-8")
        export["data"]["manifest_sha256"] = _sha(manifest)
        prev, lines, signing = "0" * 64, [], False
        for seq, (rec, sig) in enumerate(zip(self.records, self.sigs, strict=True), 1):
            rec.update(seq=seq, prev=prev, v=1)
            rec.setdefault("time", "2026-01-01T00:00:00.000000Z")
            body = _canonical(rec)
            h = _sha(body)
            signing = signing or rec["action"] == "signing_key"
            if sign == "own":
                sig = key.sign(bytes.fromhex(h)).hex() if signing else None
            elif sign == "strip":
                sig = None
            line = {"hash": h, "record": body} | ({} if sign == "strip" else {"sig": sig})
            lines.append(json.dumps(line, ensure_ascii=False) + "\n")
            prev = h
        (self.path / "log.jsonl").write_text("".join(lines), encoding="utf-8")
        self.bundle.update(log_head=prev, log_records=len(lines), export_seq=len(lines), manifest_sha256=_sha(manifest))
        if sign == "own":
            self.bundle.update(public_key=public.hex(), key_fingerprint=fp)
        if sign == "strip":
            self.bundle.pop("public_key", None)
            self.bundle.pop("key_fingerprint", None)
            self.bundle["version"] = 1
        (self.path / "bundle.json").write_text(
            json.dumps(self.bundle, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
