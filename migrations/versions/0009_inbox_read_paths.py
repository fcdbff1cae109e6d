"""inbox read paths: whom each signal has escalated to, each signal's task count, each running play's open steps

So an inbox reads only its person's rows through indexes, never every escalated signal or every run's state.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN_STEP_STATUSES = ("ready", "overdue")
signals = sa.table("signals", sa.column("id", sa.String), sa.column("escalated_to", sa.JSON), sa.column("state", sa.JSON),
                   sa.column("task_count", sa.Integer))
play_runs = sa.table("play_runs", sa.column("id", sa.String), sa.column("status", sa.String), sa.column("state", sa.JSON))


def upgrade() -> None:
    op.add_column("signals", sa.Column("task_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_signals_acknowledged_by_status", "signals", ["acknowledged_by", "status"])
    escalations = op.create_table(
        "signal_escalations",
        sa.Column("signal_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["signal_id"], ["signals.id"]),
        sa.PrimaryKeyConstraint("signal_id", "user_id"),
    )
    op.create_index("ix_signal_escalations_user_id", "signal_escalations", ["user_id"])
    open_steps = op.create_table(
        "play_run_open_steps",
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("step_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ready_at", models.tables.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", models.tables.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["play_runs.id"]),
        sa.PrimaryKeyConstraint("run_id", "step_key"),
    )
    op.create_index("ix_play_run_open_steps_owner_due", "play_run_open_steps", ["owner_id", "due_at"])
    backfill(op.get_bind(), escalations, open_steps)


def backfill(connection, escalations, open_steps) -> None:
    """From the JSON the activities wrote: escalated_to, the signal's tasks, the running runs' open steps."""
    for signal_id, escalated_to, state in connection.execute(sa.select(signals.c.id, signals.c.escalated_to, signals.c.state)):
        rows = [{"signal_id": signal_id, "user_id": user_id} for user_id in dict.fromkeys(escalated_to or [])]
        if rows:
            connection.execute(escalations.insert(), rows)
        if state.get("tasks"):
            connection.execute(signals.update().where(signals.c.id == signal_id).values(task_count=len(state["tasks"])))
    running = connection.execute(sa.select(play_runs.c.id, play_runs.c.state).where(play_runs.c.status == "running"))
    for run_id, state in running:
        rows = [{"run_id": run_id, "step_key": s["key"], "owner_id": s["owner_id"], "ready_at": _at(s.get("ready_at")),
                 "due_at": _at(s.get("due_at"))} for s in state.get("steps", []) if s["status"] in OPEN_STEP_STATUSES]
        if rows:
            connection.execute(open_steps.insert(), rows)


def _at(value):
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


def downgrade() -> None:
    op.drop_index("ix_play_run_open_steps_owner_due", table_name="play_run_open_steps")
    op.drop_table("play_run_open_steps")
    op.drop_index("ix_signal_escalations_user_id", table_name="signal_escalations")
    op.drop_table("signal_escalations")
    op.drop_index("ix_signals_acknowledged_by_status", table_name="signals")
    op.drop_column("signals", "task_count")
