"""platform banks for `unleak serve`: banks, content, signals and the index change log

Revision ID: 0110_platform_banks
Revises: 0104_log_signatures
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0110_platform_banks"
down_revision = "0104_log_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled_ratio", sa.Float(), nullable=False),
        sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "platform_content",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("disable_until_ts", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("original_media_uri", sa.Text(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=True),
        sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["platform_banks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_platform_content_bank_id"), "platform_content", ["bank_id"], unique=False)
    op.create_table(
        "platform_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["platform_content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_platform_signals_content_id"), "platform_signals", ["content_id"], unique=False)
    op.create_table(
        "platform_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("platform_changes")
    op.drop_index(op.f("ix_platform_signals_content_id"), table_name="platform_signals")
    op.drop_table("platform_signals")
    op.drop_index(op.f("ix_platform_content_bank_id"), table_name="platform_content")
    op.drop_table("platform_content")
    op.drop_table("platform_banks")
