"""caps and guards: see sql/0018b_guard.sql

Revision ID: 0018b
Revises: 0022
"""

from sql.migrations.runner import run_sql_file

revision = "0018b"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0018b_guard.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
