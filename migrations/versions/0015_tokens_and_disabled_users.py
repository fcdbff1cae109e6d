"""tokens and users: users.disabled_at and token_rotated_at; admin_credentials (the replaced bootstrap admin token)

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.tables.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): SQLite's batch mode would copy and drop `users`, which other tables reference
    op.add_column("users", sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("token_rotated_at", UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "admin_credentials",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rotated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("admin_credentials")
    op.drop_column("users", "token_rotated_at")  # ALTER TABLE … DROP COLUMN (SQLite 3.35+): no copy of `users`
    op.drop_column("users", "disabled_at")
