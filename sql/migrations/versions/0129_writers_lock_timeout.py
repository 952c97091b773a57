"""every writer an application role may call has its lock_timeout again (0087): see sql/0129_writers_lock_timeout.sql

Revision ID: 0129
Revises: 0128
"""

from sql.migrations.runner import run_sql_file

revision = "0129"
down_revision = "0128"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0129_writers_lock_timeout.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
