"""manual entries bounded per user and region day by a counter row (ATTACK9 W7): see sql/0073_manual_day.sql

Revision ID: 0073
Revises: 0072
"""

from sql.migrations.runner import run_sql_file

revision = "0073"
down_revision = "0072"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0073_manual_day.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
