"""a single entry's history version in one statement, the busy-holder mark without a nested call (issue 24): see sql/0076_history_fast_path.sql

Revision ID: 0076
Revises: 0079
"""

from sql.migrations.runner import run_sql_file

revision = "0076"
down_revision = "0079"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0076_history_fast_path.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
