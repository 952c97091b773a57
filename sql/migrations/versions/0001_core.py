"""core: see sql/0001_core.sql

Revision ID: 0001
Revises: None
"""

from sql.migrations.runner import run_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0001_core.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
