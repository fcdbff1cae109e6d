"""user_channels (email, Slack webhook, quiet hours per user) and page_deliveries (the delivery log per page and channel)

Revision ID: 0024
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

from models.tables.types import UTCDateTime

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_channels",
        sa.Column("user_id", sa.String(length=64), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("slack_webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("quiet_zone", sa.String(length=64), nullable=True),
    )
    op.create_table(
        "page_deliveries",
        sa.Column("notification_id", sa.String(length=320), primary_key=True),
        sa.Column("channel", sa.String(length=16), primary_key=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("signal_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("deferred_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_page_deliveries_signal_id", "page_deliveries", ["signal_id"])


def downgrade() -> None:
    op.drop_index("ix_page_deliveries_signal_id", table_name="page_deliveries")
    op.drop_table("page_deliveries")
    op.drop_table("user_channels")
