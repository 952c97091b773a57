"""call bounds (ATTACK6 T6, T16, T7): see sql/0050_call_bounds.sql and sql/0050_call_bounds_db.sql

Revision ID: 0050
Revises: 0043
"""

from sql.migrations.runner import run_sql_file

revision = "0050"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0050_call_bounds.sql")
    # The guard itself is fl_guard's (0027_db): the migrating login's rights, not fl_owner's.
    run_sql_file("0050_call_bounds_db.sql", as_owner=False)


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
