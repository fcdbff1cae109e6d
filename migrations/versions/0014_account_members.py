"""account_members: each account's team as an indexed table, for per-account visibility in SQL

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

accounts = sa.table("accounts", sa.column("id", sa.String), sa.column("team", sa.JSON))


def upgrade() -> None:
    table = op.create_table(
        "account_members",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("account_id", "role"),
    )
    op.create_index("ix_account_members_user_id", "account_members", ["user_id"])
    rows = op.get_bind().execute(sa.select(accounts.c.id, accounts.c.team)).all()
    members = [{"account_id": account_id, "role": role, "user_id": user_id}
               for account_id, team in rows for role, user_id in (team or {}).items() if user_id]
    if members:
        op.bulk_insert(table, members)


def downgrade() -> None:
    op.drop_index("ix_account_members_user_id", table_name="account_members")
    op.drop_table("account_members")
