"""cycle: see sql/0005_cycle.sql

Revision ID: 0005
Revises: 0004
"""

from sql.migrations.runner import run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_cycle.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
