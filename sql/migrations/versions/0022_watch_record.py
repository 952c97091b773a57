"""watch record: see sql/0022_watch_record.sql

Revision ID: 0022
Revises: 0019
"""

from sql.migrations.runner import run_sql_file

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0022_watch_record.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
