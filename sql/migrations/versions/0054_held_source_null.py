"""held source null: see sql/0054_held_source_null.sql

Revision ID: 0054
Revises: 0050
"""

from sql.migrations.runner import run_sql_file

revision = "0054"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0054_held_source_null.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
