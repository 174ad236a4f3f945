"""notices: a case can be a minor's; a claimant has a contact for notices and a country

Revision ID: 0120_notices
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

revision = "0120_notices"
down_revision = "0110_platform_banks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("minor", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("claimants") as batch:
        batch.add_column(sa.Column("notice_contact", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("country", sa.String(length=60), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("claimants") as batch:
        batch.drop_column("country")
        batch.drop_column("notice_contact")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("minor")
