"""API keys, the curator audit log and signal type settings of `unleak serve`

Revision ID: 0150_serve_keys
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0150_serve_keys"
down_revision = "0110_platform_banks"
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


def downgrade() -> None:
    op.drop_table("platform_signal_types")
    op.drop_index(op.f("ix_serve_audit_at"), table_name="serve_audit")
    op.drop_table("serve_audit")
    op.drop_table("serve_keys")
