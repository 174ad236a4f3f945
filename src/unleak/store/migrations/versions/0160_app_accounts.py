"""`unleak app`: accounts, which cases a caseworker may open, per-case app settings

Revision ID: 0160_app_accounts
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0160_app_accounts"
down_revision = "0150_serve_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "app_case_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "case_id", name="uq_app_case_access"),
    )
    op.create_index(op.f("ix_app_case_access_user_id"), "app_case_access", ["user_id"], unique=False)
    op.create_index(op.f("ix_app_case_access_case_id"), "app_case_access", ["case_id"], unique=False)
    op.create_table(
        "app_case_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "key", name="uq_app_case_setting"),
    )
    op.create_index(op.f("ix_app_case_settings_case_id"), "app_case_settings", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_app_case_settings_case_id"), table_name="app_case_settings")
    op.drop_table("app_case_settings")
    op.drop_index(op.f("ix_app_case_access_case_id"), table_name="app_case_access")
    op.drop_index(op.f("ix_app_case_access_user_id"), table_name="app_case_access")
    op.drop_table("app_case_access")
    op.drop_table("app_users")
