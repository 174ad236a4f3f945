"""notices: a case can be a minor's; a claimant has a contact for notices and a country

Revision ID: 0120_notices
Revises: 0110_platform_banks

Plain ADD COLUMN (no batch copy): on SQLite a batch rebuild of `cases` would drop the table and,
with foreign keys on, cascade-delete everything the case owns.
"""

import sqlalchemy as sa
from alembic import op

revision = "0120_notices"
down_revision = "0110_platform_banks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("minor", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("claimants", sa.Column("notice_contact", sa.Text(), nullable=False, server_default=""))
    op.add_column("claimants", sa.Column("country", sa.String(length=60), nullable=False, server_default=""))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no table rebuild either.
    op.drop_column("claimants", "country")
    op.drop_column("claimants", "notice_contact")
    op.drop_column("cases", "minor")
