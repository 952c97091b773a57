"""key races: see sql/0026_key_races.sql

Revision ID: 0026
Revises: 0017
"""

from sql.migrations.runner import run_sql_file

revision = "0026"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0026_key_races.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
