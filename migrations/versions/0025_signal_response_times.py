"""signals.owner_id, acknowledged_at, first_task_at, resolved_at: the response analytics read columns, not timelines

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types
from models.response import response_marks

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

COLUMNS = ("acknowledged_at", "first_task_at", "resolved_at")
signals = sa.table("signals", sa.column("id", sa.String), sa.column("state", sa.JSON), sa.column("owner_id", sa.String),
                   *(sa.column(c, models.tables.types.UTCDateTime(timezone=True)) for c in COLUMNS))


def upgrade() -> None:
    op.add_column("signals", sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    for column in COLUMNS:
        op.add_column("signals", sa.Column(column, models.tables.types.UTCDateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    # The row's state holds the whole timeline (every writer keeps it so): the marks come from there.
    for signal_id, state in connection.execute(sa.select(signals.c.id, signals.c.state)).all():
        marks = response_marks(state.get("owners", []), state.get("timeline", []))
        connection.execute(signals.update().where(signals.c.id == signal_id).values(**marks))


def downgrade() -> None:
    for column in ("owner_id", *COLUMNS):
        op.drop_column("signals", column)
