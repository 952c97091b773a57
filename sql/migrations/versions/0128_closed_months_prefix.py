"""a closed month is a prefix on an upgraded ledger too; the year close writes into its December (ATTACK16b D1, D3): see sql/0128_closed_months_prefix.sql

Revision ID: 0128
Revises: 0127
"""

from sql.migrations.runner import run_sql_file

revision = "0128"
down_revision = "0127"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0128_closed_months_prefix.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
