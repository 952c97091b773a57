"""budget adjustments and the annual plan (issue 20): see sql/0024_budget.sql

Revision ID: 0024
Revises: 0025
"""

from sql.migrations.runner import run_sql_file

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0024_budget.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
