"""county opening balances held for a second person (ATTACK6 T9, prototype): see sql/0052_opening_held.sql

Revision ID: 0052
Revises: 0054
"""

from sql.migrations.runner import run_sql_file

revision = "0052"
down_revision = "0054"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0052_opening_held.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
