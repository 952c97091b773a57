"""records chained: see sql/0020_records_chained.sql

Revision ID: 0020
Revises: 0016b
"""

from sql.migrations.runner import run_sql_file

revision = "0020"
down_revision = "0016b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0020_records_chained.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
