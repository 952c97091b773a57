"""issue 24: fl.entry_inserted runs 0128's closed-month query only for a statement with an entry dated on or before the latest closed month's end or outside the years: see sql/0139_entry_inserted_closed_months_when_near.sql

Revision ID: 0139
Revises: 0138
"""

from sql.migrations.runner import run_sql_file

revision = "0139"
down_revision = "0138"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0139_entry_inserted_closed_months_when_near.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
