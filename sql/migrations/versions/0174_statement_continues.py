"""a bank statement is read as a continuation of the account's stored lines (ATTACK21 N4, N5): sql/0174_statement_continues.sql

Revision ID: 0174
Revises: 0175
"""

from sql.migrations.runner import run_sql_file

revision = "0174"
down_revision = "0175"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0174_statement_continues.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
