"""Openings and reversals are held to the fund balance rule (ATTACK13 W4): see sql/0093_fund_balance_openings.sql

Revision ID: 0093
Revises: 0092
"""

from sql.migrations.runner import run_sql_file

revision = "0093"
down_revision = "0092"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0093_fund_balance_openings.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
