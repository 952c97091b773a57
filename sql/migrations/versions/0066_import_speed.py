"""import speed: see sql/0066_import_speed.sql

Revision ID: 0066
Revises: 0064
"""

from sql.migrations.runner import run_sql_file

revision = "0066"
down_revision = "0064"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0066_import_speed.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
