"""ops audit

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=220), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("new_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ops_audit_at", "ops_audit", ["at"])
    op.create_index("ix_ops_audit_workflow_id", "ops_audit", ["workflow_id"])


def downgrade() -> None:
    op.drop_index("ix_ops_audit_workflow_id", table_name="ops_audit")
    op.drop_index("ix_ops_audit_at", table_name="ops_audit")
    op.drop_table("ops_audit")
