"""agendas.decisions: the meeting's decision on each agenda item, as its ritual run recorded them

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agendas", sa.Column("decisions", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("agendas", "decisions")
