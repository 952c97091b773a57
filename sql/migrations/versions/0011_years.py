"""years: see sql/0011_years.sql

Revision ID: 0011
Revises: 0010
"""

from sql.migrations.runner import run_sql_file

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0011_years.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
