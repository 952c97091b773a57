"""every business date a user types is held to the ledger's years (ATTACK17 E4): see sql/0133_business_dates_bounded.sql

Revision ID: 0133
Revises: 0130
"""

from sql.migrations.runner import run_sql_file

revision = "0133"
down_revision = "0130"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0133_business_dates_bounded.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
