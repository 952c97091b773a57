"""stage tick: see sql/0049_stage_tick.sql

Revision ID: 0049
Revises: 0047
"""

from sql.migrations.runner import run_sql_file

revision = "0049"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0049_stage_tick.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
