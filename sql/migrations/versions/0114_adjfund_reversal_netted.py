"""A reversed in-year adjustment-fund allocation is no longer counted as received (ATTACK15 A4): see sql/0114_adjfund_reversal_netted.sql

Revision ID: 0114
Revises: 0117
"""

from sql.migrations.runner import run_sql_file

revision = "0114"
down_revision = "0117"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0114_adjfund_reversal_netted.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
