"""A year close is dated 31 December; officers read their own provisional shortfall (ATTACK14 V3, V10): see sql/0100_year_close_dated_year_end.sql

Revision ID: 0100
Revises: 0097
"""

from sql.migrations.runner import run_sql_file

revision = "0100"
down_revision = "0097"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0100_year_close_dated_year_end.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
