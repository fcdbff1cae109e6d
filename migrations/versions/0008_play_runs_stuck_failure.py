"""play_runs.stuck_failure: why a run is held at a failed step, so the board never reads the whole run

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

play_runs = sa.table(
    "play_runs",
    sa.column("id", sa.String),
    sa.column("stuck_step_key", sa.String),
    sa.column("state", sa.JSON),
    sa.column("stuck_failure", sa.JSON),
)


def upgrade() -> None:
    op.add_column("play_runs", sa.Column("stuck_failure", sa.JSON(), nullable=True))
    connection = op.get_bind()
    held = connection.execute(sa.select(play_runs.c.id, play_runs.c.stuck_step_key, play_runs.c.state)
                              .where(play_runs.c.stuck_step_key.is_not(None)))
    for run_id, step_key, state in held:
        step = next((s for s in state.get("steps", []) if s["key"] == step_key), {})
        if step.get("failure"):
            connection.execute(play_runs.update().where(play_runs.c.id == run_id).values(stuck_failure=step["failure"]))


def downgrade() -> None:
    op.drop_column("play_runs", "stuck_failure")
