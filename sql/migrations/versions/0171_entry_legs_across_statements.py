"""the fund-balance rule reads all of an entry's legs, not only its statement's (ATTACK20b M2): see sql/0171_entry_legs_across_statements.sql

Revision ID: 0171
Revises: 0169
"""

from sql.migrations.runner import run_sql_file

revision = "0171"
down_revision = "0169"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0171_entry_legs_across_statements.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
