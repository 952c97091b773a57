"""bank accounts chained: see sql/0045_bank_account_chained.sql

Revision ID: 0045
Revises: 0049
"""

from sql.migrations.runner import run_sql_file

revision = "0045"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0045_bank_account_chained.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
