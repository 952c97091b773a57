"""version seals: see sql/0023_version_seals.sql

Revision ID: 0023
Revises: 0027
"""

from sql.migrations.runner import run_sql_file

revision = "0023"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0023_version_seals.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
