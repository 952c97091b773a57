"""confined writes: see sql/0043_confined_writes.sql

Revision ID: 0043
Revises: 0051
"""

from sql.migrations.runner import run_sql_file

revision = "0043"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0043_confined_writes.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
