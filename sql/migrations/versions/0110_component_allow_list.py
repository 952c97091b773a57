"""Which component may carry an account is an allow-list per account of the chart (ATTACK15 A1): see sql/0110_component_allow_list.sql

Revision ID: 0110
Revises: 0108
"""

from sql.migrations.runner import run_sql_file

revision = "0110"
down_revision = "0108"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0110_component_allow_list.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
