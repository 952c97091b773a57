"""A reversal that would over-clear a register item is refused in words (ATTACK11 Y7): see sql/0091_reversal_overclears.sql

Revision ID: 0091
Revises: 0087
"""

from sql.migrations.runner import run_sql_file

revision = "0091"
down_revision = "0087"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0091_reversal_overclears.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
