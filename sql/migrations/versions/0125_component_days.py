"""A fund component's money in a physical account is held to the day-end rule (ATTACK15 A6): see sql/0125_component_days.sql

Revision ID: 0125
Revises: 0124
"""

from sql.migrations.runner import run_sql_file

revision = "0125"
down_revision = "0124"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0125_component_days.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
