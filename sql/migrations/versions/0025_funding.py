"""funding standards and the adjustment fund: see sql/0025_funding.sql

Revision ID: 0025
Revises: 0028
"""

from sql.migrations.runner import run_sql_file

revision = "0025"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0025_funding.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
