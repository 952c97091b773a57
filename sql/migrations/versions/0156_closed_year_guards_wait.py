"""the closed-year guards wait for a year's close in progress (ATTACK18 G8): see sql/0156_closed_year_guards_wait.sql

Revision ID: 0156
Revises: 0155
"""

from sql.migrations.runner import run_sql_file

revision = "0156"
down_revision = "0155"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0156_closed_year_guards_wait.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
