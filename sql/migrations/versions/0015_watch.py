"""watch: see sql/0015_watch.sql

Revision ID: 0015
Revises: 0008
"""

from sql.migrations.runner import run_sql_file

revision = "0015"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0015_watch.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
