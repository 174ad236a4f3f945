"""watermark recipients and marked copies

Revision ID: 0101_wm
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0101_wm"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Guarded: harmless if a regenerated initial schema already made these tables.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "wm_recipients" not in existing:
        op.create_table(
            "wm_recipients",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("case_id", sa.Integer(), nullable=False),
            sa.Column("code_id", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("contact", sa.String(length=300), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("code_id"),
            sa.UniqueConstraint("case_id", "name", name="uq_wm_recipient_case_name"),
        )
        op.create_index(op.f("ix_wm_recipients_case_id"), "wm_recipients", ["case_id"], unique=False)
    if "wm_marked_copies" not in existing:
        op.create_table(
            "wm_marked_copies",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("case_id", sa.Integer(), nullable=False),
            sa.Column("recipient_id", sa.Integer(), nullable=False),
            sa.Column("bank_item_id", sa.Integer(), nullable=True),
            sa.Column("original_path", sa.Text(), nullable=False),
            sa.Column("original_sha256", sa.String(length=64), nullable=False),
            sa.Column("copy_path", sa.Text(), nullable=False),
            sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["bank_item_id"], ["bank_items.id"], ondelete="SET NULL"),
            sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["recipient_id"], ["wm_recipients.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_wm_marked_copies_case_id"), "wm_marked_copies", ["case_id"], unique=False)
        op.create_index(
            op.f("ix_wm_marked_copies_original_sha256"), "wm_marked_copies", ["original_sha256"], unique=False
        )
        op.create_index(op.f("ix_wm_marked_copies_recipient_id"), "wm_marked_copies", ["recipient_id"], unique=False)


def downgrade() -> None:
    op.drop_table("wm_marked_copies")
    op.drop_table("wm_recipients")
