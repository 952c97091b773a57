"""input bounds: see sql/0031_input_bounds.sql

Revision ID: 0031
Revises: 0025b
"""

from sql.migrations.runner import run_sql_file

revision = "0031"
down_revision = "0025b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0031_input_bounds.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
