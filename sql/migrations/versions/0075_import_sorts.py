"""a payments import sorts less and no longer reads the whole register (issue 24): see sql/0075_import_sorts.sql

Revision ID: 0075
Revises: 0074
"""

from sql.migrations.runner import run_sql_file

revision = "0075"
down_revision = "0074"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0075_import_sorts.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
