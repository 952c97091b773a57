"""audit: see sql/0007_audit.sql

Revision ID: 0007
Revises: 0006
"""

from sql.migrations.runner import run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0007_audit.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
