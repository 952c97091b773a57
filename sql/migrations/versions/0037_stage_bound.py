"""stage bound: see sql/0037_stage_bound.sql

Revision ID: 0037
Revises: 0035
"""

from sql.migrations.runner import run_sql_file

revision = "0037"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0037_stage_bound.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
