"""fund_tables: see sql/0003_fund_tables.sql

Revision ID: 0003
Revises: 0002
"""

from sql.migrations.runner import run_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0003_fund_tables.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
