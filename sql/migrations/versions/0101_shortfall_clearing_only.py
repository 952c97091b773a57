"""The government's shortfall receipts 4101.shortfall are the register's to write (ATTACK14 V4): see sql/0101_shortfall_clearing_only.sql

Revision ID: 0101
Revises: 0100
"""

from sql.migrations.runner import run_sql_file

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0101_shortfall_clearing_only.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
