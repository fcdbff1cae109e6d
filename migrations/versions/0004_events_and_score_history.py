"""events and score history

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("as_of", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("weights_version", sa.Integer(), nullable=False),
        sa.Column("health", sa.Float(), nullable=False),
        sa.Column("renewal_risk", sa.Float(), nullable=False),
        sa.Column("risk_tier", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("forecast_confidence", sa.Float(), nullable=False),
        sa.Column("pipeline_quality", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_scores_account_as_of", "account_scores", ["account_id", "as_of"])
    op.create_table(
        "events",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("occurred_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_account_occurred", "events", ["account_id", "occurred_at"])
    op.create_index("ix_events_kind", "events", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_events_kind", table_name="events")
    op.drop_index("ix_events_account_occurred", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_account_scores_account_as_of", table_name="account_scores")
    op.drop_table("account_scores")
