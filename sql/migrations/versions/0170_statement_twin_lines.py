"""two equal lines of a bank statement are two lines (ATTACK20 L7): see sql/0170_statement_twin_lines.sql

Revision ID: 0170
Revises: 0167
"""

from sql.migrations.runner import run_sql_file

revision = "0170"
down_revision = "0167"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0170_statement_twin_lines.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
