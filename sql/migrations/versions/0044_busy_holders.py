"""busy holders (ATTACK3 R11): see sql/0044_busy_holders.sql and sql/0044_busy_holders_db.sql

Revision ID: 0044
Revises: 0039
"""

from sql.migrations.runner import run_sql_file

revision = "0044"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0044_busy_holders.sql")
    # The guard itself is fl_guard's (0027_db): the migrating login's rights, not fl_owner's.
    run_sql_file("0044_busy_holders_db.sql", as_owner=False)


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
