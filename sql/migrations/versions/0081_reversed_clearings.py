"""a reversed register clearing puts what it cleared back on the register (ATTACK10 X12): see sql/0081_reversed_clearings.sql

Revision ID: 0081
Revises: 0083
"""

from sql.migrations.runner import run_sql_file

revision = "0081"
down_revision = "0083"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0081_reversed_clearings.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
