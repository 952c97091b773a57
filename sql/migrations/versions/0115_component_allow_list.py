"""Which component may carry an account is an allow-list per account of the chart (ATTACK15 A1): see sql/0115_component_allow_list.sql

Revision ID: 0115
Revises: 0111
"""

from sql.migrations.runner import run_sql_file

revision = "0115"
down_revision = "0111"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0115_component_allow_list.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
