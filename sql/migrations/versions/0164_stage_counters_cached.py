"""the import stage's row counters draw from a cache (issue 24): see sql/0164_stage_counters_cached.sql

Revision ID: 0164
Revises: 0161
"""

from sql.migrations.runner import run_sql_file

revision = "0164"
down_revision = "0161"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0164_stage_counters_cached.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
