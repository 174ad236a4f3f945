"""Migration 0103: bank items doubled by concurrent protects are merged into one, and the bank
then refuses doubles. On SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import unleak.store.db as db
from unleak.bank import Bank
from unleak.store.models import BankItem, BankSignal, MarkedCopy, Notice, NoticeItem, Recipient, Sighting

MIGRATION = Path(db.MIGRATIONS) / "versions" / "0103_bank_unique.py"


def _migration():
    spec = importlib.util.spec_from_file_location("m0103", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        path = folder / f"p{i}.png"
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((96, 96), Image.BILINEAR).save(path)
        out.append(path)
    return out


def _twin(s, item_id: int, *, extra_variant: str | None = None) -> int:
    """A copy of a bank item and its signals, as a second protect running at once made them."""
    item = s.get(BankItem, item_id)
    twin = BankItem(
        case_id=item.case_id, label=item.label, kind=item.kind, path=item.path, sha256=item.sha256, size=item.size
    )
    s.add(twin)
    s.flush()
    for sg in item.signals:
        s.add(BankSignal(item_id=twin.id, case_id=item.case_id, type=sg.type, value=sg.value, variant=sg.variant))
    if extra_variant:
        pdq = next(sg.value for sg in item.signals if sg.type == "pdq")
        s.add(BankSignal(item_id=twin.id, case_id=item.case_id, type="pdq", value=pdq, variant=extra_variant))
    s.flush()
    return twin.id


def test_merge_repoints_everything_and_keeps_removed(store, tmp_path):
    from unleak.evidence.export import export_bundle
    from unleak.evidence.sightings import list_sightings, record_sighting
    from unleak.evidence.verify import verify_bundle
    from unleak.match import Matcher
    from unleak.signals import Media

    photos = _images(tmp_path / "photos", 3)
    bank = Bank(store, "dup")
    a, c, x = (r.bank_id for r in bank.protect(photos, variants=False))
    with store.engine.begin() as conn:  # the store as it was before the constraint
        conn.exec_driver_sql("DROP INDEX uq_bank_items_case_sha256")
    u1, u2 = "https://host.example/m/1.jpg", "https://host.example/m/2.jpg"
    with store.session() as s:
        case_id = store.case(s, "dup").id
        b = _twin(s, a, extra_variant="crop-test")
        d = _twin(s, c)
        kw = {"page_url": None, "signal": "pdq", "distance": 4}
        s_a1 = record_sighting(s, case_id, bank_id=a, media_url=u1, **kw).sighting.id
        s_b1 = record_sighting(s, case_id, bank_id=b, media_url=u1, **kw).sighting.id
        s_b2 = record_sighting(s, case_id, bank_id=b, media_url=u2, **kw).sighting.id
        s_d1 = record_sighting(s, case_id, bank_id=d, media_url=u1, **kw).sighting.id
        notice = Notice(case_id=case_id, host="host.example", basis="ncii")
        s.add(notice)
        s.flush()
        s.add(NoticeItem(notice_id=notice.id, sighting_id=s_b1, bank_item_id=b, url=u1))
        rcpt = Recipient(case_id=case_id, code_id="c0de", name="pat")
        s.add(rcpt)
        s.flush()
        s.add(
            MarkedCopy(
                case_id=case_id,
                recipient_id=rcpt.id,
                bank_item_id=b,
                original_path="x",
                original_sha256="0" * 64,
                copy_path="y",
            )
        )
    assert Bank(store, "dup").remove([b]) == 1  # the twin was removed; the survivor still matched
    assert Matcher(Bank(store, "dup")).match_media(Media.open(photos[0])).matches

    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    with store.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        _migration().upgrade()

    with store.session() as s:
        items = {i.id: i for i in s.scalars(select(BankItem).where(BankItem.case_id == case_id))}
        assert set(items) == {a, c, x}
        assert items[a].removed_at is not None and items[c].removed_at is None
        sigs_a = s.scalars(select(BankSignal).where(BankSignal.item_id == a)).all()
        assert all(sg.removed for sg in sigs_a) and "crop-test" in {sg.variant for sg in sigs_a}
        rows = {r.id: r for r in s.scalars(select(Sighting).where(Sighting.case_id == case_id))}
        assert set(rows) == {s_a1, s_b1, s_b2, s_d1}  # evidence is never deleted
        assert {rows[i].bank_item_id for i in (s_a1, s_b1, s_b2)} == {a} and rows[s_d1].bank_item_id == c
        assert rows[s_a1].status == "up" and rows[s_b1].status == "merged"
        assert rows[s_b1].url_key != rows[s_a1].url_key and rows[s_b2].status == "up"
        (ni,) = s.scalars(select(NoticeItem)).all()
        assert (ni.sighting_id, ni.bank_item_id) == (s_a1, a)
        assert s.scalar(select(MarkedCopy.bank_item_id)) == a
    # removed for good: no match, protecting again is refused; the other file is there once
    fresh = Bank(store, "dup")
    matcher = Matcher(fresh)
    assert matcher.match_media(Media.open(photos[0])).matches == []
    assert [m.bank_id for m in matcher.match_media(Media.open(photos[1])).matches] == [c]
    again_a, again_c = fresh.protect(photos[:2])
    assert again_a.refused and again_a.bank_id is None
    assert again_c.skipped and again_c.bank_id == c
    # a later scan of the same URL updates the kept sighting, not the merged one
    with store.session() as s:
        assert (
            record_sighting(s, case_id, bank_id=c, media_url=u1, page_url=None, signal="pdq", distance=2).sighting.id
            == s_d1
        )
    assert {v.status for v in list_sightings(store, "dup")} == {"up", "merged"}
    # the log still names every sighting, and the bundle verifies
    out = tmp_path / "bundle"
    export_bundle(store, "dup", out, pdf=False)
    check = verify_bundle(out)
    assert check.ok, check.problem
    # and the bank now refuses a double outright
    with pytest.raises(IntegrityError):
        with store.session() as s:
            s.add(BankItem(case_id=case_id, label="x", kind="image", sha256=items[c].sha256))


def test_upgrade_from_0102_merges_twins(store):
    """The real upgrade path: a store left at 0102 with doubled items, opened by this version."""
    from alembic import command
    from alembic.config import Config

    url = store.url
    with store.engine.begin() as conn:  # start over at 0102
        meta = sa.MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0102_value_index")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cases = sa.table(
        "cases",
        *(sa.column(c) for c in ("id", "name", "description")),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    items = sa.table(
        "bank_items",
        *(sa.column(c) for c in ("id", "case_id", "label", "kind", "sha256", "source")),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("removed_at", sa.DateTime(timezone=True)),
    )
    with store.engine.begin() as conn:
        conn.execute(cases.insert().values(id=1, name="old", description="", created_at=now))
        rows = [
            {"id": 1, "sha256": "a" * 64, "removed_at": None},
            {"id": 2, "sha256": "a" * 64, "removed_at": now},
            {"id": 3, "sha256": "a" * 64, "removed_at": None},
            {"id": 4, "sha256": "b" * 64, "removed_at": None},
            {"id": 5, "sha256": None, "removed_at": None},
            {"id": 6, "sha256": None, "removed_at": None},
        ]
        for r in rows:
            conn.execute(
                items.insert().values(case_id=1, label="l", kind="image", source="protect", created_at=now, **r)
            )
    db.open_store(url).close()  # upgrades to the newest revision
    with store.engine.connect() as conn:
        left = dict(conn.execute(sa.select(items.c.id, items.c.removed_at).order_by(items.c.id)).all())
    assert sorted(left) == [1, 4, 5, 6]  # hash-list items (no digest) are left alone
    assert left[1] is not None and left[4] is None
