"""timeline_entries: signals' and play runs' timelines, one row per entry, so each save appends only what is new

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=220), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=220), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("timeline_entries")
