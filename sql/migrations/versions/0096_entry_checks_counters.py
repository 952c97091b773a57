"""fl.entry's statement trigger in one statement, the day and voucher counters without a lock record (issue 24): see sql/0096_entry_checks_counters.sql

Revision ID: 0096
Revises: 0099
"""

from sql.migrations.runner import run_sql_file

revision = "0096"
down_revision = "0099"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0096_entry_checks_counters.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
