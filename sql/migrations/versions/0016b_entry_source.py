"""entry source: see sql/0016b_entry_source.sql

Revision ID: 0016b
Revises: 0016
"""

from sql.migrations.runner import run_sql_file

revision = "0016b"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0016b_entry_source.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
