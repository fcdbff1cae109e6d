"""board and inbox indexes: each running run's board group and current step keys, and whom each open signal waits on

So the board orders and counts its runs, and an inbox its signals to acknowledge, from narrow indexes: neither reads
a row (with its state) that it does not show.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNACKNOWLEDGED = ("open", "escalated")
HELD, WAITING, IDLE = 0, 1, 2  # models.plays.BoardGroup
play_runs = sa.table("play_runs", sa.column("id", sa.String), sa.column("status", sa.String),
                     sa.column("current_steps", sa.JSON), sa.column("stuck_step_key", sa.String),
                     sa.column("stuck_failure", sa.JSON), sa.column("board_group", sa.Integer),
                     sa.column("current_step_keys", sa.String))
signals = sa.table("signals", sa.column("id", sa.String), sa.column("status", sa.String), sa.column("owner_ids", sa.JSON),
                   sa.column("escalated_to", sa.JSON), sa.column("sla_due_at", models.tables.types.UTCDateTime),
                   sa.column("created_at", models.tables.types.UTCDateTime))


def upgrade() -> None:
    op.add_column("play_runs", sa.Column("current_step_keys", sa.String(), nullable=False, server_default=""))
    op.add_column("play_runs", sa.Column("board_group", sa.Integer(), nullable=True))
    waiting = op.create_table(
        "signals_to_acknowledge",
        sa.Column("signal_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sla_due_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["signal_id"], ["signals.id"]),
        sa.PrimaryKeyConstraint("signal_id", "user_id"),
    )
    backfill(op.get_bind(), waiting)
    op.create_index("ix_play_runs_board", "play_runs", ["status", "board_group", "stuck_due_at", "stuck_since", "id"])
    op.create_index("ix_play_runs_at_step", "play_runs", ["status", "play_key", "current_step_keys"])
    op.create_index("ix_signals_to_acknowledge_user_sla", "signals_to_acknowledge", ["user_id", "sla_due_at", "created_at"])


def backfill(connection, waiting) -> None:
    """From the columns the activities wrote: a failure recorded on the stuck step holds the run (JSON null is none)."""
    runs = connection.execute(sa.select(play_runs.c.id, play_runs.c.status, play_runs.c.current_steps,
                                        play_runs.c.stuck_step_key, play_runs.c.stuck_failure))
    for run_id, status, current_steps, stuck_step_key, stuck_failure in runs.all():
        group = None if status != "running" else IDLE if stuck_step_key is None else HELD if stuck_failure else WAITING
        connection.execute(play_runs.update().where(play_runs.c.id == run_id).values(
            board_group=group, current_step_keys=" ".join(current_steps or [])))
    open_signals = connection.execute(sa.select(signals.c.id, signals.c.owner_ids, signals.c.escalated_to,
                                                signals.c.sla_due_at, signals.c.created_at)
                                      .where(signals.c.status.in_(UNACKNOWLEDGED)))
    for signal_id, owner_ids, escalated_to, sla_due_at, created_at in open_signals.all():
        rows = [{"signal_id": signal_id, "user_id": user_id, "sla_due_at": sla_due_at, "created_at": created_at}
                for user_id in dict.fromkeys((owner_ids or []) + (escalated_to or []))]
        if rows:
            connection.execute(waiting.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_signals_to_acknowledge_user_sla", table_name="signals_to_acknowledge")
    op.drop_table("signals_to_acknowledge")
    op.drop_index("ix_play_runs_at_step", table_name="play_runs")
    op.drop_index("ix_play_runs_board", table_name="play_runs")
    op.drop_column("play_runs", "board_group")
    op.drop_column("play_runs", "current_step_keys")
