"""months close in order: a closed month is a prefix of the books (ATTACK16 C2): see sql/0123_months_close_in_order.sql

Revision ID: 0123
Revises: 0122
"""

from sql.migrations.runner import run_sql_file

revision = "0123"
down_revision = "0122"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0123_months_close_in_order.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
