"""the daily cap on manual writing counts postings as well as entries (ATTACK10 X2): see sql/0078_manual_day_postings.sql

Revision ID: 0078
Revises: 0075
"""

from sql.migrations.runner import run_sql_file

revision = "0078"
down_revision = "0075"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0078_manual_day_postings.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
