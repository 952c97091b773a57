"""confine: see sql/0008_confine.sql

Revision ID: 0008
Revises: 0013
"""

from sql.migrations.runner import run_sql_file

revision = "0008"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0008_confine.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
