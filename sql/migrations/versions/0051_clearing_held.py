"""unpaid-claims clearings held for a second person (ATTACK6 T17): see sql/0051_clearing_held.sql

Revision ID: 0051
Revises: 0048
"""

from sql.migrations.runner import run_sql_file

revision = "0051"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0051_clearing_held.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
