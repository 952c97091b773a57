"""a registered joining date long before a unit's first figures no longer stretches its months-payable basis (ATTACK21 N9): sql/0176_joined_basis_data.sql

Revision ID: 0176
Revises: 0174
"""

from sql.migrations.runner import run_sql_file

revision = "0176"
down_revision = "0174"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0176_joined_basis_data.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
