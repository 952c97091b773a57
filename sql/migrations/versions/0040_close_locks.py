"""close locks: see sql/0040_close_locks.sql

Revision ID: 0040
Revises: 0042
"""

from sql.migrations.runner import run_sql_file

revision = "0040"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0040_close_locks.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
