"""api: see sql/0002_api.sql

Revision ID: 0002
Revises: '0001'
"""

from sql.migrations.runner import run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0002_api.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
