"""fl.posting_inserted writes existing day rows by a plain UPDATE: see sql/0103_account_day_update_first.sql

Revision ID: 0103
Revises: 0104
"""

from sql.migrations.runner import run_sql_file

revision = "0103"
down_revision = "0104"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0103_account_day_update_first.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
