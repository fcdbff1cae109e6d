"""cadences (agendas, action items) and flywheel proposals

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_DATETIME = models.tables.types.UTCDateTime(timezone=True)


def _string(length: int | None = None):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "agendas",
        sa.Column("id", _string(200), nullable=False),
        sa.Column("ritual_key", _string(40), nullable=False),
        sa.Column("kind", _string(32), nullable=False),
        sa.Column("motion", _string(64), nullable=False),
        sa.Column("meeting_at", UTC_DATETIME, nullable=False),
        sa.Column("built_at", UTC_DATETIME, nullable=False),
        sa.Column("workflow_id", _string(260), nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("source", _string(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agendas_meeting_at", "agendas", ["meeting_at"])
    op.create_index("ix_agendas_ritual_motion_meeting", "agendas", ["ritual_key", "motion", "meeting_at"])
    op.create_table(
        "action_items",
        sa.Column("id", _string(220), nullable=False),
        sa.Column("agenda_id", _string(200), nullable=False),
        sa.Column("ritual_key", _string(40), nullable=False),
        sa.Column("motion", _string(64), nullable=False),
        sa.Column("meeting_at", UTC_DATETIME, nullable=False),
        sa.Column("owner_id", _string(64), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("outcome", _string(32), nullable=True),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("outcome_at", UTC_DATETIME, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_action_items_agenda_id", "action_items", ["agenda_id"])
    op.create_index("ix_action_items_owner_open", "action_items", ["owner_id", "is_open"])
    op.create_index("ix_action_items_ritual_meeting", "action_items", ["ritual_key", "meeting_at"])
    op.create_table(
        "flywheel_proposals",
        sa.Column("id", _string(80), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("period_start", UTC_DATETIME, nullable=False),
        sa.Column("period_end", UTC_DATETIME, nullable=False),
        sa.Column("weights_version", sa.Integer(), nullable=False),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("reverted_version", sa.Integer(), nullable=True),
        sa.Column("decided_by", _string(64), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flywheel_proposals_created_at", "flywheel_proposals", ["created_at"])
    op.create_index("ix_flywheel_proposals_status", "flywheel_proposals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_flywheel_proposals_status", table_name="flywheel_proposals")
    op.drop_index("ix_flywheel_proposals_created_at", table_name="flywheel_proposals")
    op.drop_table("flywheel_proposals")
    op.drop_index("ix_action_items_ritual_meeting", table_name="action_items")
    op.drop_index("ix_action_items_owner_open", table_name="action_items")
    op.drop_index("ix_action_items_agenda_id", table_name="action_items")
    op.drop_table("action_items")
    op.drop_index("ix_agendas_ritual_motion_meeting", table_name="agendas")
    op.drop_index("ix_agendas_meeting_at", table_name="agendas")
    op.drop_table("agendas")
