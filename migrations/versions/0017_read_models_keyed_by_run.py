"""Read models keyed by run (issue 14 item 8): the run that wrote each read-model row, the runs seen per workflow,
the handoff audit unique on (handoff, run, seq), and notification ids long enough to carry the run id

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.tables.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

READ_MODELS = ("signals", "tasks", "play_runs", "handoffs", "agendas", "action_items")


def upgrade() -> None:
    op.create_table(
        "workflow_runs",
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=220), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index(op.f("ix_workflow_runs_workflow_id"), "workflow_runs", ["workflow_id"], unique=False)
    for table in READ_MODELS:
        op.add_column(table, sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("handoff_audit") as batch_op:
        batch_op.add_column(sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.drop_constraint("uq_handoff_audit_transition", type_="unique")
        batch_op.create_unique_constraint("uq_handoff_audit_run_transition", ["handoff_id", "run_id", "seq"])
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.alter_column("id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=200),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=320), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.alter_column("id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=320),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=200), existing_nullable=False)
    with op.batch_alter_table("handoff_audit") as batch_op:
        batch_op.drop_constraint("uq_handoff_audit_run_transition", type_="unique")
        batch_op.create_unique_constraint("uq_handoff_audit_transition", ["handoff_id", "seq"])
        batch_op.drop_column("run_id")
    for table in READ_MODELS:
        op.drop_column(table, "run_id")  # not batch: SQLite would copy signals and play_runs, which rows refer to
    op.drop_index(op.f("ix_workflow_runs_workflow_id"), table_name="workflow_runs")
    op.drop_table("workflow_runs")
