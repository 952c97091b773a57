"""a late adjustment-fund allocation is shared by what each government still owes now: see sql/0074_adjfund_late_owed.sql

Revision ID: 0074
Revises: 0073
"""

from sql.migrations.runner import run_sql_file

revision = "0074"
down_revision = "0073"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0074_adjfund_late_owed.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
