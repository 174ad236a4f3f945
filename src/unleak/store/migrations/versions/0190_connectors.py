"""watch at scale: a schedule per source, conditional-fetch validators, requests per host per day

Revision ID: 0190_connectors
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0190_connectors"
down_revision = "0161_app_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("every_seconds", sa.Float(), nullable=True))
    op.create_table(
        "fetch_validators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("nbytes", sa.Integer(), nullable=False),
        sa.Column("bank_mark", sa.String(length=100), nullable=False),
        sa.Column("updated_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "url_key", name="uq_fetch_validators_case_url"),
    )
    op.create_table(
        "host_requests",
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("host", "day"),
    )


def downgrade() -> None:
    op.drop_table("host_requests")
    op.drop_table("fetch_validators")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("every_seconds")
