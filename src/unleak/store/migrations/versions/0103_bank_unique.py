"""bank items: one per file and case (unique case and SHA-256), merging the duplicates there are

Two protects running at once over the same files could each add a file, and removing one of the
twins left the other matching. Each set of twins becomes its lowest id (the survivor):
- its sightings, notice items and marked copies point at the survivor;
- when the survivor and a twin both saw the same URL (the sightings' unique key), the earlier
  sighting is kept and takes the other's notice items; the other stays, with its captures, as a
  sighting of status "merged" under a key of its own, because the evidence log names it;
- signals the survivor lacks (say the crops of one run) move to it, the rest go with the twin;
- the survivor stays removed, with its signals, if either twin was removed.
Items imported from hash lists have no digest and are left alone.

Revision ID: 0103_bank_unique
Revises: 0102_value_index
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0103_bank_unique"
down_revision = "0102_value_index"
branch_labels = None
depends_on = None

_items = sa.table(
    "bank_items",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("sha256", sa.String),
    sa.column("removed_at", sa.DateTime(timezone=True)),
)
_signals = sa.table(
    "bank_signals",
    sa.column("id", sa.Integer),
    sa.column("item_id", sa.Integer),
    sa.column("type", sa.String),
    sa.column("variant", sa.String),
    sa.column("removed", sa.Boolean),
)
_sightings = sa.table(
    "sightings",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("bank_item_id", sa.Integer),
    sa.column("url_key", sa.String),
    sa.column("distance", sa.Integer),
    sa.column("uploader", sa.String),
    sa.column("posted_at", sa.String),
    sa.column("status", sa.String),
    sa.column("first_seen", sa.DateTime(timezone=True)),
    sa.column("last_seen", sa.DateTime(timezone=True)),
    sa.column("removed_at", sa.DateTime(timezone=True)),
    sa.column("reupload", sa.Boolean),
    sa.column("reupload_count", sa.Integer),
)
_notice_items = sa.table("notice_items", sa.column("sighting_id", sa.Integer), sa.column("bank_item_id", sa.Integer))
_marked = sa.table("wm_marked_copies", sa.column("bank_item_id", sa.Integer))


def _aware(t):
    """SQLite gives times back without their zone (all are UTC); compare them as such."""
    return t.replace(tzinfo=None) if t is not None else None


def _merge_sighting(conn, keep, other) -> None:
    """`keep` and `other` saw the same URL for the same (merged) item: fold `other` into `keep`."""
    s = _sightings.c
    later = keep if _aware(keep.last_seen) >= _aware(other.last_seen) else other
    conn.execute(
        _sightings.update()
        .where(s.id == keep.id)
        .values(
            first_seen=min(keep.first_seen, other.first_seen, key=_aware),
            last_seen=later.last_seen,
            distance=min(keep.distance, other.distance),
            uploader=keep.uploader or other.uploader,
            posted_at=keep.posted_at or other.posted_at,
            status=later.status,
            removed_at=later.removed_at,
            reupload=bool(keep.reupload or other.reupload),
            reupload_count=max(keep.reupload_count or 0, other.reupload_count or 0),
        )
    )
    conn.execute(_notice_items.update().where(_notice_items.c.sighting_id == other.id).values(sighting_id=keep.id))
    # Kept, not deleted: the evidence log names it and its captures hang from it. A key of its
    # own frees the unique key for `keep`; scans update `keep` from now on.
    alias = hashlib.sha256(f"merged:{other.id}:{other.url_key}".encode()).hexdigest()
    conn.execute(_sightings.update().where(s.id == other.id).values(url_key=alias, status="merged"))


def merge_duplicates(conn) -> int:
    """Fold every set of bank items with the same case and SHA-256 into its lowest id. Returns
    how many items were folded away."""
    i, g, s = _items.c, _signals.c, _sightings.c
    groups = conn.execute(
        sa.select(i.case_id, i.sha256)
        .where(i.sha256.is_not(None))
        .group_by(i.case_id, i.sha256)
        .having(sa.func.count() > 1)
    ).all()
    folded = 0
    for case_id, sha256 in groups:
        twins = conn.execute(
            sa.select(i.id, i.removed_at).where(i.case_id == case_id, i.sha256 == sha256).order_by(i.id)
        ).all()
        survivor, others = twins[0].id, [t.id for t in twins[1:]]
        removals = [t.removed_at for t in twins if t.removed_at is not None]
        for other in others:
            have = {
                (r.type, r.variant) for r in conn.execute(sa.select(g.type, g.variant).where(g.item_id == survivor))
            }
            for sig in conn.execute(sa.select(g.id, g.type, g.variant).where(g.item_id == other)).all():
                if (sig.type, sig.variant) not in have:
                    conn.execute(_signals.update().where(g.id == sig.id).values(item_id=survivor))
            conn.execute(_signals.delete().where(g.item_id == other))
            for sighting in conn.execute(sa.select(_sightings).where(s.bank_item_id == other).order_by(s.id)).all():
                clash = conn.execute(
                    sa.select(_sightings).where(
                        s.case_id == sighting.case_id, s.url_key == sighting.url_key, s.bank_item_id == survivor
                    )
                ).first()
                if clash is None:
                    conn.execute(_sightings.update().where(s.id == sighting.id).values(bank_item_id=survivor))
                    continue
                keep, drop = (clash, sighting) if clash.id < sighting.id else (sighting, clash)
                _merge_sighting(conn, keep, drop)
                conn.execute(_sightings.update().where(s.id.in_([keep.id, drop.id])).values(bank_item_id=survivor))
            conn.execute(
                _notice_items.update().where(_notice_items.c.bank_item_id == other).values(bank_item_id=survivor)
            )
            conn.execute(_marked.update().where(_marked.c.bank_item_id == other).values(bank_item_id=survivor))
            conn.execute(_items.delete().where(i.id == other))
            folded += 1
        if removals:  # removed once means removed for good: it must never match again
            conn.execute(_items.update().where(i.id == survivor).values(removed_at=min(removals, key=_aware)))
            conn.execute(_signals.update().where(g.item_id == survivor).values(removed=True))
    return folded


def upgrade() -> None:
    merge_duplicates(op.get_bind())
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("bank_items")}
    if "ix_bank_items_case_sha256" in existing:
        op.drop_index("ix_bank_items_case_sha256", table_name="bank_items")
    op.create_index("uq_bank_items_case_sha256", "bank_items", ["case_id", "sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_bank_items_case_sha256", table_name="bank_items")
    op.create_index("ix_bank_items_case_sha256", "bank_items", ["case_id", "sha256"], unique=False)
