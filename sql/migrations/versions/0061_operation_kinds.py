"""operation kinds: see sql/0061_operation_kinds.sql

Revision ID: 0061
Revises: 0060
"""

from sql.migrations.runner import run_sql_file

revision = "0061"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0061_operation_kinds.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
