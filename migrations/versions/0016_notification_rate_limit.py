"""notifications.suppressed (past the per-user page rate: kept in the inbox, not sent) and a (user_id, at) index

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("suppressed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_notifications_user_at", "notifications", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_user_at", table_name="notifications")
    op.drop_column("notifications", "suppressed")
