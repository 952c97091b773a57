"""a recurring bank balance neither drops nor doubles a line (ATTACK20b M6): sql/0173_statement_balance_recurs.sql

Revision ID: 0173
Revises: 0171
"""

from sql.migrations.runner import run_sql_file

revision = "0173"
down_revision = "0171"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0173_statement_balance_recurs.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
