"""collections finance: see sql/0039_collections_finance.sql

Revision ID: 0039
Revises: 0038
"""

from sql.migrations.runner import run_sql_file

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0039_collections_finance.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
