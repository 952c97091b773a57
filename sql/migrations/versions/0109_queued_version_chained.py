"""A queued entry's history version is written chained when the history head is its transaction's: see sql/0109_queued_version_chained.sql

Revision ID: 0109
Revises: 0105
"""

from sql.migrations.runner import run_sql_file

revision = "0109"
down_revision = "0105"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0109_queued_version_chained.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
