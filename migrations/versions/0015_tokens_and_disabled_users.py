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
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("token_rotated_at", UTCDateTime(timezone=True), nullable=True))
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
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_rotated_at")
        batch.drop_column("disabled_at")
