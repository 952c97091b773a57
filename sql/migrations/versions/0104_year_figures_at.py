"""One definition of the government's shortfall receipts and of the rule's inputs at a date (ATTACK14 V4, what its fix left): see sql/0104_year_figures_at.sql

Revision ID: 0104
Revises: 0108
"""

from sql.migrations.runner import run_sql_file

revision = "0104"
down_revision = "0108"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0104_year_figures_at.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
