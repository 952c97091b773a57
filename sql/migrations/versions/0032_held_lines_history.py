"""held lines history: see sql/0032_held_lines_history.sql

Revision ID: 0032
Revises: 0034
"""

from sql.migrations.runner import run_sql_file

revision = "0032"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0032_held_lines_history.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
