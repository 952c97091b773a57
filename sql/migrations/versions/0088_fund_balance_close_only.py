"""The fund balance (3xxx) is the year-end close's to move (ATTACK11 Y3): see sql/0088_fund_balance_close_only.sql

Revision ID: 0088
Revises: 0091
"""

from sql.migrations.runner import run_sql_file

revision = "0088"
down_revision = "0091"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0088_fund_balance_close_only.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
