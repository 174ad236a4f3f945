"""case_calibrations: a case's own PDQ false-match tail (`unleak calibrate`)

Revision ID: 0130_matching_calibration
Revises: 0110_platform_banks
"""

import sqlalchemy as sa
from alembic import op

import unleak.store.models

revision = "0130_matching_calibration"
down_revision = "0120_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_calibrations",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("sigma", sa.Float(), nullable=False),
        sa.Column("fit_mean", sa.Float(), nullable=False),
        sa.Column("fit_sigma", sa.Float(), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("distances", sa.BigInteger(), nullable=False),
        sa.Column("created_at", unleak.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("case_calibrations")
