"""territory_proposals: Layer III's rebalance proposals (proposed → approved/rejected)

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

from models.tables.types import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "territory_proposals",
        sa.Column("id", sa.String(length=80), primary_key=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
    )
    op.create_index("ix_territory_proposals_status", "territory_proposals", ["status"])
    op.create_index("ix_territory_proposals_created_at", "territory_proposals", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_territory_proposals_created_at", table_name="territory_proposals")
    op.drop_index("ix_territory_proposals_status", table_name="territory_proposals")
    op.drop_table("territory_proposals")
