"""pre-allocations held for finance (ATTACK3 R7): see sql/0046_prealloc_held.sql

Revision ID: 0046
Revises: 0045
"""

from sql.migrations.runner import run_sql_file

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0046_prealloc_held.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
