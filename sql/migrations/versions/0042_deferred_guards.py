"""deferred guards: see sql/0042_deferred_guards.sql

Revision ID: 0042
Revises: 0036
"""

from sql.migrations.runner import run_sql_file

revision = "0042"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0042_deferred_guards.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
