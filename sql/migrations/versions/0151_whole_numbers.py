"""one reader of a whole number with thousands separators (ATTACK18 G7): see sql/0151_whole_numbers.sql

Revision ID: 0151
Revises: 0148
"""

from sql.migrations.runner import run_sql_file

revision = "0151"
down_revision = "0148"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0151_whole_numbers.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
