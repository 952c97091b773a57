"""A reversal is not dated before the entry it reverses (ATTACK15 A9): see sql/0117_reversal_not_before.sql

Revision ID: 0117
Revises: 0115
"""

from sql.migrations.runner import run_sql_file

revision = "0117"
down_revision = "0115"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0117_reversal_not_before.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
