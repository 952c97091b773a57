"""What a user imports is counted per region day with a cap of its own (Z7's class): see sql/0108_import_daily_cap.sql

Revision ID: 0108
Revises: 0107
"""

from sql.migrations.runner import run_sql_file

revision = "0108"
down_revision = "0107"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0108_import_daily_cap.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
