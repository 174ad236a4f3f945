"""The bank: protect (resumable), list, remove, export and import, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from unleak.bank import Bank
from unleak.store.models import BankItem


@pytest.fixture
def private(samples, tmp_path) -> Path:
    folder = tmp_path / "private"
    (folder / "sub").mkdir(parents=True)
    for i, p in enumerate(samples[:8]):
        shutil.copyfile(p, (folder / "sub" if i % 2 else folder) / p.name)
    (folder / "notes.txt").write_text("not media, passed over quietly in folders")
    return folder


def test_protect_records_signals_not_media(store, private):
    bank = Bank(store, "alice")
    results = bank.protect([private])
    assert len(results) == 8 and all(r.error is None for r in results)
    items = bank.items()
    assert {Path(i.path).name for i in items} == {p.name for p in private.rglob("*.png")} | {
        p.name for p in private.rglob("*.jpg")
    }
    assert all(len(i.sha256) == 64 for i in items)
    assert all({s.type for s in i.signals} >= {"pdq", "sha256", "md5"} for i in items)
    # nothing but hashes in the database: no column holds image bytes
    with store.session() as s:
        assert s.scalar(select(func.max(func.length(BankItem.label)))) < 200


def test_protect_skips_what_is_protected(store, private):
    bank = Bank(store)
    bank.protect([private])
    again = bank.protect([private])
    assert all(r.skipped for r in again)
    assert bank.count() == 8


def test_removed_hash_never_matches_again_even_after_round_trip(store, private, tmp_path):
    from unleak.match import Matcher

    bank = Bank(store, "round-trip")
    bank.protect([private])
    victim = bank.items()[0]
    target = Path(victim.path)
    assert Matcher(bank).match_media(_media(target)).matches
    bank.remove([victim.id])
    assert not Matcher(bank).match_media(_media(target)).matches
    out = tmp_path / "bank.json"
    bank.export(out, "json")
    added, refused = bank.import_file(out)
    assert added == 0 and refused > 0
    # an old export that still holds the removed hash cannot bring it back either
    old = tmp_path / "old.txt"
    pdq = next(s.value for s in victim.signals if s.type == "pdq")
    old.write_text(f"pdq {pdq}\n")
    assert bank.import_file(old) == (0, 1)
    assert not Matcher(bank).match_media(_media(target)).matches
    # a fresh case importing the export gets the rest, not the removed one
    fresh = Bank(store, "fresh", create=True)
    added, _ = fresh.import_file(out)
    assert added > 0
    assert not Matcher(fresh).match_media(_media(target)).matches
    assert Matcher(fresh).match_media(_media(Path(bank.items()[0].path))).matches


def test_protecting_a_removed_file_again_does_not_bring_it_back(store, samples, tmp_path):
    from PIL import Image, PngImagePlugin

    from unleak.match import Matcher

    photo = tmp_path / "x.png"
    shutil.copyfile(samples[4], photo)
    # other bytes (new metadata, other compression), the same pixels: the same PDQ
    twin = tmp_path / "twin.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a copy")
    Image.open(photo).save(twin, pnginfo=info, compress_level=1)
    assert twin.read_bytes() != photo.read_bytes()

    bank = Bank(store, "again")
    (first,) = bank.protect([photo])
    bank.remove([first.bank_id])
    for path, hash_type in ((photo, "sha256"), (twin, "pdq")):
        (again,) = bank.protect([path])
        assert again.skipped and again.bank_id is None and again.error is None
        assert f"the same {hash_type} hash as bank item {first.bank_id}, removed from case 'again' on " in again.refused
    assert bank.count() == 0
    assert not Matcher(bank).match_media(_media(photo)).matches
    # another case is another bank: it may protect the same photo
    (elsewhere,) = Bank(store, "other").protect([photo])
    assert elsewhere.bank_id is not None and not elsewhere.skipped


def _media(path: Path):
    from unleak.signals import Media

    return Media.open(path)


def test_threatexchange_local_file_exchange_loads_our_export(store, private, tmp_path, tiny_video):
    from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
    from threatexchange.signal_type.pdq.signal import PdqSignal

    bank = Bank(store)
    bank.protect([private, tiny_video])
    out = tmp_path / "hashes.txt"
    n = bank.export(out, "te")
    assert n == 8 + 3  # 8 PDQ, and the video's vPDQ, MD5 and SHA-256
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="unleak", filename=str(out)))
    updates = {}
    for delta in api.fetch_iter([PdqSignal], None):
        updates.update(delta.updates)
    types = [t for t, _ in updates]
    assert types.count("pdq") == 8 and {"vpdq", "video_md5", "video_sha256"} <= set(types)
    for t, value in updates:
        if t == "pdq":
            assert PdqSignal.validate_signal_str(value) == value


def test_json_export_import_keeps_labels(store, private, tmp_path):
    bank = Bank(store, "src")
    bank.protect([private], label="holiday")
    out = tmp_path / "bank.json"
    bank.export(out)
    other = Bank(store, "dst", create=True)
    added, refused = other.import_file(out)
    assert refused == 0 and added == 8 * 3
    assert {i.label for i in other.items()} == {"holiday"}


def test_import_rejects_garbage(store, tmp_path):
    from unleak.errors import UnleakError

    bad = tmp_path / "bad.txt"
    bad.write_text("pdq nothex\n")
    with pytest.raises(UnleakError, match="not a PDQ hash"):
        Bank(store).import_file(bad)


def test_protect_killed_half_way_resumes_without_loss_or_duplicates(samples, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3):
        for p in samples:
            dst = folder / f"{i}-{p.name}"
            if i == 0:
                shutil.copyfile(p, dst)
            else:  # distinct bytes, same picture
                from PIL import Image

                Image.open(p).convert("RGB").save(dst.with_suffix(".jpg"), quality=90 - i)
    total = len(list(folder.iterdir()))
    env = dict(os.environ, UNLEAK_HOME=str(tmp_path / "home"))
    cmd = [sys.executable, "-m", "unleak", "protect", "--json", str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    done = 0
    for line in proc.stdout:
        done += json.loads(line)["error"] is None
        if done == 10:
            proc.send_signal(signal.SIGKILL)  # a crash, not a polite stop
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    rerun = subprocess.run(cmd, capture_output=True, env=env, text=True, timeout=300)
    records = [json.loads(line) for line in rerun.stdout.splitlines()]
    assert len(records) == total
    assert sum(r["skipped"] for r in records) >= 10
    from unleak.store import open_store

    st = open_store(f"sqlite:///{tmp_path / 'home' / 'unleak.db'}")
    with st.session() as s:
        shas = list(s.scalars(select(BankItem.sha256)))
    assert len(shas) == len(set(shas)) == total


def test_full_disk_while_exporting_loses_nothing(store, private, tmp_path, monkeypatch):
    from unleak.errors import UnleakError

    bank = Bank(store)
    bank.protect([private])
    out = tmp_path / "bank.json"
    out.write_text("previous export\n")
    real_write = Path.write_text

    def full(self, *a, **k):
        if self.name.endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_write(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(UnleakError, match="No space left"):
        bank.export(out)
    assert out.read_text() == "previous export\n"
    assert not (tmp_path / "bank.json.tmp").exists()


def test_a_long_video_fits_the_bank_and_is_refused_twice(store, tmp_path):
    """A 15-minute vPDQ value (900 frames, ~46 kB) is larger than a PostgreSQL B-tree index row."""
    import numpy as np

    from unleak.signals import vpdq as vpdq_signal

    rng = np.random.default_rng(11)
    frames = [
        vpdq_signal.Frame(rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), 100, float(t)) for t in range(900)
    ]
    listing = tmp_path / "long.txt"
    listing.write_text(f"vpdq {vpdq_signal.frames_to_value(frames)}\n")
    bank = Bank(store, "long", create=True)
    assert bank.import_file(listing, "te") == (1, 0)
    assert bank.import_file(listing, "te") == (0, 1)  # found again by its value: refused
    ((_sid, _item, _label, value),) = bank.active_signals("vpdq")
    assert vpdq_signal.parse_frames(value) == frames


def test_import_reports_progress(store, tmp_path):
    import numpy as np

    rng = np.random.default_rng(2)
    listing = tmp_path / "list.txt"
    listing.write_text(
        "".join(f"pdq {rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()}\n" for _ in range(12_000))
    )
    calls: list[tuple[int, int]] = []
    assert Bank(store, "progress", create=True).import_file(
        listing, "te", on_progress=lambda d, t: calls.append((d, t))
    ) == (
        12_000,
        0,
    )
    assert len(calls) >= 3 and calls[-1] == (12_000, 12_000) and calls == sorted(calls)


def test_palette_cmyk_and_bilevel_originals_export_their_threatexchange_hash(store, samples, tmp_path):
    """python-threatexchange hashes such files' raw arrays: the te list carries its hash beside
    the correct one, so a platform hashing the same file its way finds it."""
    import io

    from PIL import Image
    from threatexchange.signal_type.pdq.signal import PdqSignal

    photo = Image.open(samples[3]).convert("RGB")  # coffee: rich in texture
    files = {}
    for name, image, fmt in (
        ("palette.png", photo.convert("P"), "PNG"),
        ("cmyk.jpg", photo.convert("CMYK"), "JPEG"),
        ("bilevel.png", photo.convert("1"), "PNG"),
        ("plain.png", photo, "PNG"),
    ):
        buf = io.BytesIO()
        image.save(buf, fmt)
        (tmp_path / name).write_bytes(buf.getvalue())
        files[name] = buf.getvalue()
    bank = Bank(store, "modes")
    assert all(r.error is None for r in bank.protect([tmp_path / n for n in files]))
    out = tmp_path / "list.te"
    bank.export(out, "te")
    listed = set(out.read_text().split("\n"))
    by_name = {Path(it.path).name: it for it in bank.items()}
    for name, data in files.items():
        te = PdqSignal.hash_from_bytes(data)
        own = next(sg.value for sg in by_name[name].signals if sg.type == "pdq" and not sg.variant)
        assert f"pdq {own}" in listed, name
        stored_te = [sg.value for sg in by_name[name].signals if sg.variant == "te"]
        if name == "bilevel.png":
            # its raw 0/1 array is nearly flat: python-threatexchange gives no hash (quality < 50)
            assert te == "" and stored_te == [], name
        elif name == "plain.png":
            assert te == own and stored_te == [], name  # read alike: nothing more stored
        else:
            assert te != own and stored_te == [te] and f"pdq {te}" in listed, name


def test_32_bit_integer_and_float_originals_protect(store, samples, tmp_path):
    """TIFFs of 32-bit integers ("I") or floats ("F"): python-threatexchange reads no hash from
    them, so there is no te variant to store; the file itself is protected as any other."""
    from PIL import Image

    gray = Image.open(samples[3]).convert("L")
    paths = []
    for mode in ("I", "F"):
        path = tmp_path / f"{mode}.tif"
        gray.convert(mode).save(path)
        paths.append(path)
    bank = Bank(store, "wide")
    results = bank.protect(paths)
    assert [r.error for r in results] == [None, None]
    for item in bank.items():
        assert any(sg.type == "pdq" and not sg.variant for sg in item.signals), item.path
        assert not any(sg.variant == "te" for sg in item.signals), item.path
