"""session guard: see sql/0047_session_guard.sql

Revision ID: 0047
Revises: 0044
"""

from sql.migrations.runner import run_sql_file

revision = "0047"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0047_session_guard.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
