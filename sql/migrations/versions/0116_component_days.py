"""A fund component's money in a physical account is held to the day-end rule (ATTACK15 A6): see sql/0116_component_days.sql

Revision ID: 0116
Revises: 0115
"""

from sql.migrations.runner import run_sql_file

revision = "0116"
down_revision = "0115"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0116_component_days.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
