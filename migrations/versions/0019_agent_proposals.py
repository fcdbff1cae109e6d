"""agent_proposals (an act an agent asked for over MCP, and its decision) and agent_settings (per user: the low-risk
acts their agents may perform without approval)

Revision ID: 0019
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

from models.tables.types import UTCDateTime

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_proposals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(200), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("stated_reason", sa.String(), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
    )
    for column in ("requested_by", "account_id", "status", "created_at"):
        op.create_index(f"ix_agent_proposals_{column}", "agent_proposals", [column])
    op.create_table(
        "agent_settings",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("auto_approve", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_settings")
    for column in ("requested_by", "account_id", "status", "created_at"):
        op.drop_index(f"ix_agent_proposals_{column}", table_name="agent_proposals")
    op.drop_table("agent_proposals")
