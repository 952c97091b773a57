"""a unit's first day in the ledger is recorded once, chained, never moved by a later entry (ATTACK16b D4): see sql/0130_unit_first_day.sql

Revision ID: 0130
Revises: 0131
"""

from sql.migrations.runner import run_sql_file

revision = "0130"
down_revision = "0131"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0130_unit_first_day.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
