"""log records: an Ed25519 signature of each record's hash, by the case's signing key

Records written before this revision stay unsigned; the case's next record introduces its key.

Revision ID: 0104_log_signatures
Revises: 0102_value_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0104_log_signatures"
down_revision = "0103_bank_unique"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("log_records")}
    if "signature" not in existing:
        with op.batch_alter_table("log_records", schema=None) as batch_op:
            batch_op.add_column(sa.Column("signature", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("log_records", schema=None) as batch_op:
        batch_op.drop_column("signature")
