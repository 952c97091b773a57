"""a registered joining date is the months-payable basis (G5, G9): see sql/0157_first_day_joined.sql

Revision ID: 0157
Revises: 0156
"""

from sql.migrations.runner import run_sql_file

revision = "0157"
down_revision = "0156"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0157_first_day_joined.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
