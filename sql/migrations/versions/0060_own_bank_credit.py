"""own bank credit: see sql/0060_own_bank_credit.sql

Revision ID: 0060
Revises: 0059
"""

from sql.migrations.runner import run_sql_file

revision = "0060"
down_revision = "0059"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0060_own_bank_credit.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
