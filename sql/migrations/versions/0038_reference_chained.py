"""reference chained: see sql/0038_reference_chained.sql

Revision ID: 0038
Revises: 0041
"""

from sql.migrations.runner import run_sql_file

revision = "0038"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0038_reference_chained.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
