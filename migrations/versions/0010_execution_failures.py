"""execution_failures: why each closed execution failed, read once from its (never-changing) history

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_failures",
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=220), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow_type", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("failed_in", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("recorded_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "run_id"),
    )


def downgrade() -> None:
    op.drop_table("execution_failures")
