"""bank signals: look values up through a hash index, so long vPDQ values fit (PostgreSQL)

The (case_id, type, value) B-tree refused any value over PostgreSQL's index row limit, which the
vPDQ value of a video longer than about half a minute exceeds.

Revision ID: 0102_value_index
Revises: 0101_wm
"""

import sqlalchemy as sa
from alembic import op

revision = "0102_value_index"
down_revision = "0101_wm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("bank_signals")}
    with op.batch_alter_table("bank_signals", schema=None) as batch_op:
        if "ix_bank_signals_lookup" in existing:
            batch_op.drop_index("ix_bank_signals_lookup")
        batch_op.create_index("ix_bank_signals_case_type", ["case_id", "type"], unique=False)
        batch_op.create_index("ix_bank_signals_value", ["value"], unique=False, postgresql_using="hash")


def downgrade() -> None:
    with op.batch_alter_table("bank_signals", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_signals_value", postgresql_using="hash")
        batch_op.drop_index("ix_bank_signals_case_type")
        batch_op.create_index("ix_bank_signals_lookup", ["case_id", "type", "value"], unique=False)
