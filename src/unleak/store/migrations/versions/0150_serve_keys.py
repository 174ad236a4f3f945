"""`unleak serve`: API keys, the curator audit log, signal type settings, and safety for banks
(negative banks, per-bank thresholds, flood protection, match feedback) and exchanges

Revision ID: 0150_serve_keys
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0150_serve_keys"
down_revision = "0140_watermark_scheme"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serve_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=True),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("rate_per_s", sa.Float(), nullable=True),
        sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", unleak.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "serve_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("key_name", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_serve_audit_at"), "serve_audit", ["at"], unique=False)
    op.create_table(
        "platform_signal_types",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("enabled_ratio", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("platform_banks") as batch:
        batch.add_column(sa.Column("negative", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("pdq_threshold", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("flood_max_distinct", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("flood_window_s", sa.Integer(), nullable=True))
    op.create_table(
        "platform_match_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("query_digest", sa.String(length=64), nullable=False),
        sa.Column("at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_platform_match_seen_content_id"), "platform_match_seen", ["content_id"], unique=False)
    op.create_table(
        "platform_flood",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("distinct_uploads", sa.Integer(), nullable=False),
        sa.Column("window_s", sa.Integer(), nullable=False),
        sa.Column("at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_platform_flood_content_id"), "platform_flood", ["content_id"], unique=False)
    op.create_table(
        "platform_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("signal_type", sa.String(length=40), nullable=False),
        sa.Column("signal", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("key_name", sa.String(length=100), nullable=False),
        sa.Column("at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_platform_feedback_bank"), "platform_feedback", ["bank"], unique=False)
    op.create_index(op.f("ix_platform_feedback_content_id"), "platform_feedback", ["content_id"], unique=False)
    op.create_table(
        "platform_exchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api", sa.String(length=40), nullable=False),
        sa.Column("api_json", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("fetched_items", sa.Integer(), nullable=False),
        sa.Column("last_fetch_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_fetch_ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("platform_exchanges")
    op.drop_index(op.f("ix_platform_feedback_content_id"), table_name="platform_feedback")
    op.drop_index(op.f("ix_platform_feedback_bank"), table_name="platform_feedback")
    op.drop_table("platform_feedback")
    op.drop_index(op.f("ix_platform_flood_content_id"), table_name="platform_flood")
    op.drop_table("platform_flood")
    op.drop_index(op.f("ix_platform_match_seen_content_id"), table_name="platform_match_seen")
    op.drop_table("platform_match_seen")
    with op.batch_alter_table("platform_banks") as batch:
        batch.drop_column("flood_window_s")
        batch.drop_column("flood_max_distinct")
        batch.drop_column("pdq_threshold")
        batch.drop_column("negative")
    op.drop_table("platform_signal_types")
    op.drop_index(op.f("ix_serve_audit_at"), table_name="serve_audit")
    op.drop_table("serve_audit")
    op.drop_table("serve_keys")
