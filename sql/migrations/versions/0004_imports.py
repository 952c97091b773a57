"""imports: see sql/0004_imports.sql

Revision ID: 0004
Revises: 0003
"""

from sql.migrations.runner import run_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0004_imports.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
