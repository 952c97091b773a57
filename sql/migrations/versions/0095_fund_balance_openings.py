"""Openings and reversals held to the fund balance rule (ATTACK13 W4): see sql/0095_fund_balance_openings.sql

Revision ID: 0095
Revises: 0096
"""

from sql.migrations.runner import run_sql_file

revision = "0095"
down_revision = "0096"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0095_fund_balance_openings.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
