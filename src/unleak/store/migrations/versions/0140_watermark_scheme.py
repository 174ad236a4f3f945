"""the marking scheme of each watermarked copy (NULL: made before it was recorded, scheme 1)

Revision ID: 0140_watermark_scheme
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

revision = "0140_watermark_scheme"
down_revision = "0130_matching_calibration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wm_marked_copies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wm_marked_copies", schema=None) as batch_op:
        batch_op.drop_column("scheme")
