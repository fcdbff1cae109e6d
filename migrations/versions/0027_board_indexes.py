"""play_runs: the board reads its most urgent runs and counts them from indexes alone

Its most urgent runs are read segment by segment, each in the order of an index (services.plays.board):
ix_play_runs_board serves the overdue ones by due date, the new ix_play_runs_board_waiting the rest by wait. Its
counts (per step, overdue, held) come from ix_play_runs_at_step, now covering every column they and the viewer's
filter read, so counting 10,000 running plays reads no row.

Revision ID: 0027
Revises: 0026
"""
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_play_runs_board_waiting", "play_runs", ["status", "board_group", "stuck_since", "id", "stuck_due_at"])
    op.drop_index("ix_play_runs_at_step", table_name="play_runs")
    op.create_index("ix_play_runs_at_step", "play_runs", ["status", "play_key", "current_step_keys", "board_group",
                                                          "stuck_due_at", "account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_play_runs_at_step", table_name="play_runs")
    op.create_index("ix_play_runs_at_step", "play_runs", ["status", "play_key", "current_step_keys"])
    op.drop_index("ix_play_runs_board_waiting", table_name="play_runs")
