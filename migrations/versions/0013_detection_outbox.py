"""detection outbox: the signals detection decided to open, kept with the events and scores that fired them

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detected_signals",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dedup_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detected_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("opened_at", models.tables.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_detected_signals_status_detected", "detected_signals", ["status", "detected_at"])


def downgrade() -> None:
    op.drop_index("ix_detected_signals_status_detected", table_name="detected_signals")
    op.drop_table("detected_signals")
