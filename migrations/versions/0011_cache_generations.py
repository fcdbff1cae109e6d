"""cache_generations: a counter bumped by every write to the directory and config, so processes can cache them

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "cache_generations",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(table, [{"name": "directory", "generation": 0}])


def downgrade() -> None:
    op.drop_table("cache_generations")
