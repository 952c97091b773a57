"""an adjustment-fund allocation in its year records the caps and weights its shares came from (issue 15): see sql/0084_adjfund_caps_recorded.sql

Revision ID: 0084
Revises: 0086
"""

from sql.migrations.runner import run_sql_file

revision = "0084"
down_revision = "0086"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0084_adjfund_caps_recorded.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
