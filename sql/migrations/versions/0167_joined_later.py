"""a unit's joining date registered later by the city bureau (G5/G9 left open): see sql/0167_joined_later.sql

Revision ID: 0167
Revises: 0168
"""

from sql.migrations.runner import run_sql_file

revision = "0167"
down_revision = "0168"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0167_joined_later.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
