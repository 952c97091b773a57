"""money into a bank account by hand is the city's to confirm; withdrawals bounded (ATTACK8 V5, V8): see sql/0064_money_in.sql

Revision ID: 0064
Revises: 0063
"""

from sql.migrations.runner import run_sql_file

revision = "0064"
down_revision = "0063"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0064_money_in.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
