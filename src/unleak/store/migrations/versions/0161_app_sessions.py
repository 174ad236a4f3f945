"""`unleak app`: sessions kept in the database (hashed tokens) and failed logins (lockout)

Revision ID: 0161_app_sessions
Revises: 0160_app_accounts
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0161_app_sessions"
down_revision = "0160_app_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index(op.f("ix_app_sessions_user_id"), "app_sessions", ["user_id"], unique=False)
    op.create_index(op.f("ix_app_sessions_expires_at"), "app_sessions", ["expires_at"], unique=False)
    op.create_table(
        "app_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_app_login_failures_key"), "app_login_failures", ["key"], unique=False)
    op.create_index(op.f("ix_app_login_failures_at"), "app_login_failures", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_app_login_failures_at"), table_name="app_login_failures")
    op.drop_index(op.f("ix_app_login_failures_key"), table_name="app_login_failures")
    op.drop_table("app_login_failures")
    op.drop_index(op.f("ix_app_sessions_expires_at"), table_name="app_sessions")
    op.drop_index(op.f("ix_app_sessions_user_id"), table_name="app_sessions")
    op.drop_table("app_sessions")
